/* smp_workload.c — `smp iters=<N>`: every CPU runs the memhash.h smp chain
 * (tg_smp_step) on its own slot at the same time, in ring 3. The chain's
 * value and step count are stored on every step, so a snapshot taken at any
 * instant holds each CPU's progress in RAM as well as in its registers.
 *
 * The CPUs share nothing but these slots (each written by its own CPU only)
 * and the run number and iteration count (written by the BSP only). The BSP
 * prints the progress of all slots every 100 ms of PIT time, so a test can
 * see that the CPUs work concurrently, and the final hashes once every CPU
 * has marked its slot done. */
#include "smp_workload.h"

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"
#include "layout.h"
#include "memhash.h"
#include "serial.h"
#include "smp.h"

#define PROGRESS_TICKS 10 /* 100 ms at TG_TICK_HZ */
#define ICR_FIXED 0x4000  /* delivery mode fixed, level assert; | vector */

/* 128 bytes each: no two CPUs write the same cache line, nor an adjacent
 * pair (the spatial prefetcher pulls lines in twos). */
struct slot {
    volatile uint64_t k;       /* steps done in the current run */
    volatile uint64_t h;       /* chain value after k steps */
    volatile uint64_t started; /* the run this CPU has picked up */
    volatile uint64_t done;    /* the run this CPU has finished */
} __attribute__((aligned(128)));

static struct slot slots[TG_MAX_CPUS];
static volatile uint64_t run_number, run_iters; /* BSP writes iters, then number */

/* BSP only: when to print the next progress line, and how many CPUs run. */
static uint64_t next_progress;
static int run_cpus;

/* Wakes the APs that have not picked up the current run. Repeated from
 * every progress line: a wake-up can be lost under PVM (see isr.S). */
static void wake_stragglers(void)
{
    for (int c = 1; c < run_cpus; c++)
        if (slots[c].started != run_number)
            send_ipi(smp_apic_id(c), ICR_FIXED | VEC_WAKE);
}

static void progress(void)
{
    serial_puts("TG smp progress");
    for (int c = 0; c < run_cpus; c++) {
        serial_puts(" cpu");
        serial_put_u64((uint64_t)c);
        serial_putc('=');
        serial_put_u64(slots[c].started == run_number ? slots[c].k : 0);
    }
    serial_putc('\n');
    next_progress = tg_ticks + PROGRESS_TICKS;
    wake_stragglers();
}

/* Resets the slot, announces the run, then steps. The reset comes before
 * `started`, so the BSP never shows the previous run's count as this one's. */
static void run_chain(int cpu, uint64_t run, uint64_t iters, bool report)
{
    struct slot *s = &slots[cpu];
    uint64_t h = tg_smp_seed((uint64_t)cpu);
    s->k = 0;
    s->h = h;
    s->started = run;
    for (uint64_t k = 1; k <= iters; k++) {
        h = tg_smp_step(h, k);
        s->h = h;
        s->k = k;
        if (report && tg_ticks >= next_progress)
            progress();
    }
    s->done = run;
}

_Noreturn void smp_ap_loop(int cpu)
{
    uint64_t seen = 0;
    for (;;) {
        while (run_number == seen)
            wait_while_equal(&run_number, seen);
        seen = run_number;
        run_chain(cpu, seen, run_iters, false);
    }
}

static bool all_done(void)
{
    for (int c = 0; c < run_cpus; c++)
        if (slots[c].done != run_number)
            return false;
    return true;
}

void smp_workload(const struct workload_args *a)
{
    uint64_t iters;
    if (!arg_u64(a, "iters", &iters)) {
        serial_puts("TG error msg=missing-iters name=smp\n");
        return;
    }
    timer_start();
    run_cpus = smp_start();
    serial_puts("TG smp started=");
    serial_put_u64((uint64_t)(run_cpus - 1));
    serial_putc('\n');

    run_iters = iters;
    run_number = run_number + 1;
    wake_stragglers();
    next_progress = tg_ticks + PROGRESS_TICKS;
    run_chain(0, run_number, iters, true);
    while (!all_done()) {
        wait_until_tick(tg_ticks + 1);
        if (tg_ticks >= next_progress)
            progress();
    }

    serial_puts("TG smp cpus=");
    serial_put_u64((uint64_t)run_cpus);
    serial_puts(" iters=");
    serial_put_u64(iters);
    for (int c = 0; c < run_cpus; c++) {
        serial_puts(" hash");
        serial_put_u64((uint64_t)c);
        serial_putc('=');
        serial_put_hex(slots[c].h, 16);
    }
    serial_putc('\n');
}
