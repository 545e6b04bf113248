/* workloads.c — the test guest's workloads. Each reports with single
 * `TG <name> key=value ...` lines. All state is in guest RAM and registers, so a
 * VMM may snapshot and restore the guest between any two instructions and the
 * workload carries on where it was. */
#include "workloads.h"

#include <stdbool.h>
#include <stdint.h>

#include "boot_info.h"
#include "hw.h"
#include "io.h"
#include "memhash.h"
#include "mptable.h"
#include "serial.h"
#include "smp_workload.h"

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static void error_line(const char *msg, const struct workload_args *a)
{
    serial_puts("TG error msg=");
    serial_puts(msg);
    serial_puts(" name=");
    serial_puts(a->name);
    serial_putc('\n');
}

/* ready: cpus=<MP table> mem_mib=<RAM in the memmap, rounded to the nearest MiB,
 * so -m 256M reports 256 although the map leaves out the legacy hole>. */
static void ready(const struct workload_args *a)
{
    (void)a;
    serial_puts("TG ready cpus=");
    serial_put_u64((uint64_t)mptable_cpu_count());
    serial_puts(" mem_mib=");
    serial_put_u64((boot_ram_bytes() + (1u << 19)) >> 20);
    serial_putc('\n');
}

/* counter [count=k]: line n=i once 10*i ticks (100 Hz) have passed since the start. */
static void counter(const struct workload_args *a)
{
    uint64_t count = 0;
    bool bounded = arg_u64(a, "count", &count);
    timer_start();
    uint64_t start = tg_ticks;
    for (uint64_t i = 1; !bounded || i <= count; i++) {
        wait_until_tick(start + 10 * i);
        serial_puts("TG counter n=");
        serial_put_u64(i);
        serial_putc('\n');
    }
}

static uint64_t memfill_mib; /* region of the last memfill, for memcheck */
static bool memfill_done;

static void put_hash_hex(uint64_t h)
{
    serial_put_hex(h, 16);
}

/* memfill mib=<n> [seed=<s>]: writes the memhash.h pattern at TG_MEMFILL_BASE. */
static void memfill(const struct workload_args *a)
{
    uint64_t mib, seed = 0;
    if (!arg_u64(a, "mib", &mib)) {
        error_line("missing-mib", a);
        return;
    }
    arg_u64(a, "seed", &seed);
    uint64_t end = TG_MEMFILL_BASE + (mib << 20);
    if (mib > 4096 || end > (4ull << 30) || !boot_ram_covers(TG_MEMFILL_BASE, end)) {
        serial_puts("TG error msg=memfill-too-large mib=");
        serial_put_u64(mib);
        serial_putc('\n');
        return;
    }
    volatile uint64_t *p = phys_ptr(TG_MEMFILL_BASE);
    uint64_t words = mib << 17, h = tg_hash_init();
    for (uint64_t i = 0; i < words; i++) {
        uint64_t w = tg_fill_word(seed, i);
        p[i] = w;
        h = tg_hash_step(h, w);
    }
    memfill_mib = mib;
    memfill_done = true;
    serial_puts("TG memfill mib=");
    serial_put_u64(mib);
    serial_puts(" seed=");
    serial_put_u64(seed);
    serial_puts(" hash=");
    put_hash_hex(h);
    serial_putc('\n');
}

/* memcheck: hashes what is in the last memfill region now. */
static void memcheck(const struct workload_args *a)
{
    if (!memfill_done) {
        error_line("no-memfill", a);
        return;
    }
    const volatile uint64_t *p = phys_ptr(TG_MEMFILL_BASE);
    uint64_t words = memfill_mib << 17, h = tg_hash_init();
    for (uint64_t i = 0; i < words; i++)
        h = tg_hash_step(h, p[i]);
    serial_puts("TG mem mib=");
    serial_put_u64(memfill_mib);
    serial_puts(" hash=");
    put_hash_hex(h);
    serial_putc('\n');
}

/* exit code=<c>: QEMU's isa-debug-exit (and vmm) exit with status (c << 1) | 1. */
static void do_exit(const struct workload_args *a)
{
    uint64_t code = 0;
    arg_u64(a, "code", &code);
    outl(0xf4, (uint32_t)code);
    serial_puts("TG error msg=exit-ignored\n");
}

static void triplefault(const struct workload_args *a)
{
    (void)a;
    serial_puts("TG triplefault\n");
    triple_fault();
    serial_puts("TG error msg=triplefault-survived\n");
}

/* spin ms=<m>: busy in ring 3 (no HLT) for m ms of PIT time, rounded up to ticks. */
static void spin(const struct workload_args *a)
{
    uint64_t ms = 0;
    arg_u64(a, "ms", &ms);
    timer_start();
    uint64_t until = tg_ticks + (ms * TG_TICK_HZ + 999) / 1000;
    while (tg_ticks < until)
        __asm__ volatile("pause");
    serial_puts("TG spin ms=");
    serial_put_u64(ms);
    serial_putc('\n');
}

static const struct {
    const char *name;
    void (*run)(const struct workload_args *);
} table[] = {
    {"ready", ready},
    {"counter", counter},
    {"memfill", memfill},
    {"memcheck", memcheck},
    {"exit", do_exit},
    {"triplefault", triplefault},
    {"spin", spin},
    {"smp", smp_workload},
};

void workload_run(const struct workload_args *args)
{
    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (str_eq(args->name, table[i].name)) {
            table[i].run(args);
            return;
        }
    }
    serial_puts("TG error msg=unknown-workload name=");
    serial_puts(args->name);
    serial_putc('\n');
}
