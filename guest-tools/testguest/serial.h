/* serial.h — COM1 output, the test guest's only report channel. */
#ifndef TG_SERIAL_H
#define TG_SERIAL_H

#include <stdint.h>

void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
void serial_put_u64(uint64_t v);               /* decimal */
void serial_put_hex(uint64_t v, int min_digits); /* lowercase, no "0x" */

#endif
