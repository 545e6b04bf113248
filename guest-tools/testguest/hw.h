/* hw.h — interrupt plumbing: PIC/LAPIC set-up (ring 0, at boot), then PIT,
 * tick count, IPIs and sleeping as seen from ring 3. */
#ifndef TG_HW_H
#define TG_HW_H

#include <stdint.h>

#define TG_TICK_HZ 100

extern volatile uint64_t tg_ticks; /* incremented by the IRQ0 handler (isr.S) */

void ring0_interrupts_init(void); /* ring 0, before IF=1 and before .bss is zeroed */

void timer_start(void);              /* PIT at 100 Hz, IRQ0 unmasked; idempotent */
void wait_until_tick(uint64_t tick); /* sleeps; returns once tg_ticks >= tick */
void idle_forever(void);

/* Sends an IPI through the LAPIC ICR (ring 0 does the write): icr_lo holds
 * the vector, delivery mode and level; physical destination mode. */
void send_ipi(uint8_t apic_id, uint32_t icr_lo);
/* One sleep until an interrupt, unless *word != value already. Callers loop. */
void wait_while_equal(const volatile uint64_t *word, uint64_t value);
void triple_fault(void);

#endif
