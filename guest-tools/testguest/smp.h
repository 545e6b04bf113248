/* smp.h — the application processors: starting them and naming them. CPU
 * indexes: 0 is the BSP (the CPU that booted), 1.. the APs in MP table order. */
#ifndef TG_SMP_H
#define TG_SMP_H

#include <stdint.h>

/* Starts every AP the MP table lists (the first call only; later calls just
 * return the count). Prints `TG error ...` lines for APs that do not check
 * in, and stops there. Returns the CPUs running, BSP included (>= 1). */
int smp_start(void);

uint8_t smp_apic_id(int cpu);

#endif
