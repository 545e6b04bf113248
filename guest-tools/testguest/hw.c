/* hw.c — the legacy interrupt path, programmed by us at every stage rather
 * than trusting VMM or firmware defaults: PIT -> 8259 master IRQ0 -> LAPIC
 * LINT0 (ExtINT) -> vector 0x20 -> isr.S counts tg_ticks.
 *
 * ring0_interrupts_init runs in (emulated) ring 0 at boot because the PIC must
 * be remapped before interrupts are enabled, and ring 3 cannot hold IF=0 under
 * PVM. It runs before .bss is zeroed: it may touch only .data, ports and MMIO.
 * Everything else here runs in ring 3, with system calls (int3, isr.S) for
 * what only ring 0 does: HLT and writing the LAPIC ICR. */
#include "hw.h"

#include "io.h"
#include "layout.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

#define PIT_HZ 1193182u

static uint8_t pic1_mask = 0xfb; /* .data: everything masked except IRQ2 (cascade) */
static int timer_running;

static void lapic_write(uint32_t reg, uint32_t v)
{
    *(volatile uint32_t *)phys_ptr(LAPIC_BASE + reg) = v;
}

/* A software-disabled LAPIC forces its LVTs masked, so enable it first (SVR,
 * spurious vector 0xff), then make LINT0 ExtINT and LINT1 NMI ("virtual wire",
 * what a BIOS leaves). Skipped when CPUID reports no APIC (hardware-disabled):
 * the PIC then drives INTR directly. */
void ring0_interrupts_init(void)
{
    outb(PIC1_CMD, 0x11);  /* ICW1: init, ICW4 follows */
    outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, 0x20); /* ICW2: vector bases */
    outb(PIC2_DATA, 0x28);
    outb(PIC1_DATA, 0x04); /* ICW3: slave on IRQ2 */
    outb(PIC2_DATA, 0x02); /*       slave identity 2 */
    outb(PIC1_DATA, 0x01); /* ICW4: 8086 mode, normal EOI */
    outb(PIC2_DATA, 0x01);
    outb(PIC1_DATA, pic1_mask);
    outb(PIC2_DATA, 0xff);

    uint32_t a, b, c, d;
    cpuid(1, &a, &b, &c, &d);
    if (d & (1u << 9)) {
        lapic_write(LAPIC_SVR, 0x100 | VEC_APIC_SPURIOUS);
        lapic_write(LAPIC_LVT0, 0x700);
        lapic_write(LAPIC_LVT1, 0x400);
    }
}

void timer_start(void)
{
    if (timer_running)
        return;
    uint16_t divisor = (uint16_t)((PIT_HZ + TG_TICK_HZ / 2) / TG_TICK_HZ); /* 11932 */
    outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator), binary */
    outb(0x40, (uint8_t)(divisor & 0xff));
    outb(0x40, (uint8_t)(divisor >> 8));
    pic1_mask &= (uint8_t)~1u;
    outb(PIC1_DATA, pic1_mask);
    timer_running = 1;
}

static void sys_wait(uint64_t tick)
{
    __asm__ volatile("int3" : : "a"((uint64_t)SYS_WAIT), "D"(tick) : "memory");
}

void wait_until_tick(uint64_t tick)
{
    while (tg_ticks < tick)
        sys_wait(tick);
}

void wait_while_equal(const volatile uint64_t *word, uint64_t value)
{
    __asm__ volatile("int3" : : "a"((uint64_t)SYS_WAIT_NE), "D"(word), "S"(value) : "memory");
}

void send_ipi(uint8_t apic_id, uint32_t icr_lo)
{
    __asm__ volatile("int3"
                     :
                     : "a"((uint64_t)SYS_IPI), "D"((uint64_t)apic_id << 24), "S"((uint64_t)icr_lo)
                     : "memory");
}

void idle_forever(void)
{
    for (;;)
        sys_wait(UINT64_MAX);
}

void triple_fault(void)
{
    __asm__ volatile("int3" : : "a"((uint64_t)SYS_TRIPLE) : "memory");
}
