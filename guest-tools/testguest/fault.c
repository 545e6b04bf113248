/* fault.c — ring-0 report of an unexpected exception or vector (called from
 * isr.S): one TG line, then exit through isa-debug-exit (QEMU status 0xff);
 * isr.S halts forever if the VMM ignores the port. */
#include <stdint.h>

#include "io.h"
#include "serial.h"

struct fault_frame {
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

void tg_fault_report(const struct fault_frame *f);

void tg_fault_report(const struct fault_frame *f)
{
    serial_puts("TG fault vec=");
    serial_put_u64(f->vector);
    serial_puts(" rip=0x");
    serial_put_hex(f->rip, 1);
    serial_puts(" err=0x");
    serial_put_hex(f->error, 1);
    if (f->vector == 14) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        serial_puts(" cr2=0x");
        serial_put_hex(cr2, 1);
    }
    serial_puts(" rflags=0x");
    serial_put_hex(f->rflags, 1);
    serial_puts(" cpl=");
    serial_put_u64(f->cs & 3);
    serial_putc('\n');
    outl(0xf4, 0x7f);
}
