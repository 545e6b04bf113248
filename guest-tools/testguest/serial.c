/* serial.c — polled 16550 driver for COM1 (0x3f8), 115200 8N1, no interrupts.
 * Polling THRE before every byte keeps it correct on any 16550 model, and
 * callable from ring 0 (fault reports) as well as ring 3. */
#include "serial.h"
#include "io.h"

#define COM1 0x3f8
#define LSR_THRE 0x20

void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* IER: no interrupts */
    outb(COM1 + 3, 0x80); /* LCR: DLAB to set the divisor */
    outb(COM1 + 0, 0x01); /* divisor 1 = 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
    outb(COM1 + 2, 0xc7); /* FIFO on, cleared, 14-byte threshold */
    outb(COM1 + 4, 0x03); /* DTR | RTS; OUT2 off: no IRQ4 */
}

void serial_putc(char c)
{
    while (!(inb(COM1 + 5) & LSR_THRE))
        ;
    outb(COM1, (uint8_t)c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

void serial_put_u64(uint64_t v)
{
    char buf[21];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        serial_putc(buf[--n]);
}

void serial_put_hex(uint64_t v, int min_digits)
{
    static const char digits[] = "0123456789abcdef";
    char buf[16];
    int n = 0;
    do {
        buf[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    while (n < min_digits && n < 16)
        buf[n++] = '0';
    while (n)
        serial_putc(buf[--n]);
}
