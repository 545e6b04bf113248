/* mptable.h — the processors of the Intel MultiProcessor table. */
#ifndef TG_MPTABLE_H
#define TG_MPTABLE_H

#include <stdbool.h>
#include <stdint.h>

struct mp_cpu {
    uint8_t apic_id;
    bool bsp; /* the table's BSP flag */
};

/* Enabled processor entries, in table order; the first `max` of them are
 * stored in out[] (out may be NULL when max is 0). An MP "default
 * configuration" has 2 (APIC ids 0 and 1, the BSP first). Without a valid
 * table: 1, the BSP with APIC id 0. */
int mptable_cpus(struct mp_cpu *out, int max);

static inline int mptable_cpu_count(void)
{
    return mptable_cpus(0, 0);
}

#endif
