/* io.h — port I/O, physical-address access and CPUID for both rings. Ring 3
 * may use the port instructions because it runs with IOPL 3. */
#ifndef TG_IO_H
#define TG_IO_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* Memory is identity-mapped, so a physical address is a pointer. The empty asm
 * hides the constant from gcc, which otherwise warns (-Warray-bounds) about
 * dereferencing small constant addresses such as the BIOS data area. */
static inline void *phys_ptr(uint64_t paddr)
{
    __asm__("" : "+r"(paddr));
    return (void *)(uintptr_t)paddr;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

#endif
