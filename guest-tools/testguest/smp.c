/* smp.c — AP bring-up, run by the BSP in ring 3. For each AP in the MP
 * table, one at a time: build its TSS and GDT descriptor and stacks, fill
 * the mailbox tg_ap_boot, send INIT / SIPI / SIPI through the LAPIC ICR
 * (MP spec 1.4 appendix B.4), and wait for the AP to check in from ring 3
 * (tg_ap_main). One at a time because the APs share the mailbox and the
 * trampoline. The AP side of the path is ap_entry.S. */
#include "smp.h"

#include <stdbool.h>
#include <stddef.h>

#include "hw.h"
#include "io.h"
#include "layout.h"
#include "mptable.h"
#include "serial.h"
#include "smp_workload.h"

_Static_assert((AP_TRAMPOLINE & 0xfff) == 0 && AP_TRAMPOLINE < 0x100000,
               "the SIPI vector is the trampoline's page number below 1 MiB");

#define ICR_INIT 0x4500 /* delivery mode INIT, level assert */
#define ICR_SIPI 0x4600 /* delivery mode start-up, level assert; | vector */
#define SIPI_WAIT_TICKS 2 /* >= 10 ms after INIT and after a SIPI (the spec: 10 ms, 200 us) */
#define AP_TIMEOUT_TICKS 200

/* 64-bit TSS with an all-ports I/O bitmap, as the BSP's in tables.S (why: see
 * there), plus the architectural trailing 0xff byte. */
struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed));

/* Everything one AP owns. In .bss, so zero (all ports allowed) at boot. */
struct ap_area {
    struct tss64 tss;
    uint8_t stack0[STACK0_SIZE] __attribute__((aligned(16)));
    uint8_t stack_df[STACK_DF_SIZE] __attribute__((aligned(16)));
    uint8_t stack3[AP_STACK3_SIZE] __attribute__((aligned(16)));
};

static struct ap_area ap_areas[TG_MAX_CPUS - 1] __attribute__((aligned(4096)));

volatile uint64_t tg_ap_boot[AP_BOOT_WORDS]; /* read by ap_entry.S */
static volatile uint64_t ap_online[TG_MAX_CPUS]; /* written by each AP */
static uint8_t apic_ids[TG_MAX_CPUS];
static int cpus_running = 1;
static bool started;

extern const char ap_trampoline[], ap_trampoline_end[]; /* ap_entry.S */
extern char gdt[];                                     /* tables.S */

void tg_ap_main(uint64_t cpu);

/* The AP's first C code, in ring 3 with its own stack. */
void tg_ap_main(uint64_t cpu)
{
    ap_online[cpu] = 1;
    smp_ap_loop((int)cpu);
}

/* 16-byte system descriptor: present, type 9 (64-bit available TSS). */
static void write_tss_descriptor(int cpu, const struct tss64 *tss)
{
    uint64_t base = (uintptr_t)tss, limit = sizeof *tss - 1;
    volatile uint32_t *d = (volatile uint32_t *)(void *)(gdt + SEL_TSS(cpu));
    d[0] = (uint32_t)((limit & 0xffff) | (base & 0xffff) << 16);
    d[1] = (uint32_t)(((base >> 16) & 0xff) | 0x8900 | (limit & 0xf0000) | (base & 0xff000000));
    d[2] = (uint32_t)(base >> 32);
    d[3] = 0;
}

static void prepare_ap(int cpu)
{
    struct ap_area *a = &ap_areas[cpu - 1];
    uint64_t rsp0 = (uintptr_t)(a->stack0 + sizeof a->stack0);
    a->tss.rsp[0] = rsp0;
    a->tss.ist[0] = (uintptr_t)(a->stack_df + sizeof a->stack_df); /* IST1: double fault */
    a->tss.iomap_base = offsetof(struct tss64, iomap);
    a->tss.iomap[sizeof a->tss.iomap - 1] = 0xff;
    write_tss_descriptor(cpu, &a->tss);
    tg_ap_boot[AP_BOOT_CPU / 8] = (uint64_t)cpu;
    tg_ap_boot[AP_BOOT_TSS / 8] = SEL_TSS(cpu);
    tg_ap_boot[AP_BOOT_RSP0 / 8] = rsp0;
    tg_ap_boot[AP_BOOT_RSP3 / 8] = (uintptr_t)(a->stack3 + sizeof a->stack3);
}

/* Sleeps tick by tick until the AP checks in or `ticks` have passed. */
static bool wait_online(int cpu, uint64_t ticks)
{
    uint64_t deadline = tg_ticks + ticks;
    while (!ap_online[cpu] && tg_ticks < deadline)
        wait_until_tick(tg_ticks + 1);
    return ap_online[cpu] != 0;
}

/* INIT, then a SIPI, then a second SIPI if the first did not take (an AP
 * that has left wait-for-SIPI ignores it anyway). */
static bool start_ap(int cpu, uint8_t apic_id)
{
    prepare_ap(cpu);
    send_ipi(apic_id, ICR_INIT);
    wait_until_tick(tg_ticks + SIPI_WAIT_TICKS);
    send_ipi(apic_id, ICR_SIPI | (AP_TRAMPOLINE >> 12));
    if (wait_online(cpu, SIPI_WAIT_TICKS))
        return true;
    send_ipi(apic_id, ICR_SIPI | (AP_TRAMPOLINE >> 12));
    return wait_online(cpu, AP_TIMEOUT_TICKS);
}

static void error_apic(const char *msg, uint8_t apic_id)
{
    serial_puts("TG error msg=");
    serial_puts(msg);
    serial_puts(" apic=");
    serial_put_u64(apic_id);
    serial_putc('\n');
}

int smp_start(void)
{
    if (started)
        return cpus_running;
    started = true;

    static struct mp_cpu table[256]; /* APIC ids are 8 bits */
    int n = mptable_cpus(table, 256);
    int bsp = 0;
    for (int i = 0; i < n; i++)
        if (table[i].bsp) {
            bsp = i;
            break;
        }
    apic_ids[0] = table[bsp].apic_id;
    if (n < 2)
        return cpus_running;

    /* Copied only now, not at boot: the loader's start info may have been
     * in this page, and it has been read by now. */
    volatile char *dst = phys_ptr(AP_TRAMPOLINE);
    for (const char *p = ap_trampoline; p < ap_trampoline_end; p++)
        *dst++ = *p;
    timer_start();

    for (int i = 0; i < n; i++) {
        if (i == bsp)
            continue;
        if (cpus_running == TG_MAX_CPUS) {
            error_apic("too-many-cpus", table[i].apic_id);
            break;
        }
        int cpu = cpus_running;
        apic_ids[cpu] = table[i].apic_id;
        if (!start_ap(cpu, table[i].apic_id)) {
            error_apic("ap-timeout", table[i].apic_id); /* the mailbox may still be read: stop */
            break;
        }
        cpus_running++;
    }
    return cpus_running;
}

uint8_t smp_apic_id(int cpu)
{
    return apic_ids[cpu];
}
