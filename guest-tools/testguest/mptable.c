/* mptable.c — finds the MP floating pointer ("_MP_") where the MP spec 1.4 says
 * to look (first KiB of the EBDA, last KiB of base memory, 0xF0000-0xFFFFF),
 * checks checksums, and lists enabled processor entries. Runs in ring 3:
 * low memory is identity-mapped and user-accessible. */
#include "mptable.h"

#include <stdint.h>

#include "io.h"

#define MP_FP_SIG 0x5f504d5fu  /* "_MP_" */
#define MP_CFG_SIG 0x504d4350u /* "PCMP" */

static uint8_t checksum(uint64_t paddr, uint32_t len)
{
    const volatile uint8_t *p = phys_ptr(paddr);
    uint8_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

static uint16_t rd16(uint64_t paddr)
{
    return *(const volatile uint16_t *)phys_ptr(paddr);
}

static uint32_t rd32(uint64_t paddr)
{
    return *(const volatile uint32_t *)phys_ptr(paddr);
}

static uint8_t rd8(uint64_t paddr)
{
    return *(const volatile uint8_t *)phys_ptr(paddr);
}

/* Returns the floating pointer's address, 0 if none. Length field is in
 * 16-byte units and must be 1. */
static uint64_t find_fp(uint64_t start, uint64_t len)
{
    for (uint64_t a = start; a + 16 <= start + len; a += 16)
        if (rd32(a) == MP_FP_SIG && rd8(a + 8) == 1 && checksum(a, 16) == 0)
            return a;
    return 0;
}

/* Appends one CPU, counting it even when out[] is full. */
static void add_cpu(struct mp_cpu *out, int max, int *n, uint8_t apic_id, bool bsp)
{
    if (*n < max) {
        out[*n].apic_id = apic_id;
        out[*n].bsp = bsp;
    }
    (*n)++;
}

/* Walks entries up to the base table length, as Linux does, not by the entry
 * count: QEMU's qboot (microvm firmware) leaves the count at 0. Returns 0
 * for an invalid table. */
static int list_cpus(uint64_t cfg, struct mp_cpu *out, int max)
{
    if (rd32(cfg) != MP_CFG_SIG)
        return 0;
    uint16_t len = rd16(cfg + 4);
    if (len < 44 || checksum(cfg, len) != 0)
        return 0;
    uint64_t p = cfg + 44, end = cfg + len;
    int cpus = 0;
    while (p < end) {
        uint8_t type = rd8(p);
        if (type == 0) {            /* processor: 20 bytes; flags bit 0 enabled, bit 1 BSP */
            uint8_t flags = rd8(p + 3);
            if (flags & 1)
                add_cpu(out, max, &cpus, rd8(p + 1), (flags & 2) != 0);
            p += 20;
        } else if (type <= 4) {     /* bus, I/O APIC, I/O and local interrupt: 8 bytes */
            p += 8;
        } else {
            break;                  /* unknown entry: its size is unknown too */
        }
    }
    return cpus;
}

int mptable_cpus(struct mp_cpu *out, int max)
{
    uint64_t ebda = (uint64_t)rd16(0x40e) << 4;
    uint64_t fp = 0;
    if (ebda >= 0x80000 && ebda < 0xa0000)
        fp = find_fp(ebda, 1024);
    if (!fp)
        fp = find_fp(0x9fc00, 1024);
    if (!fp)
        fp = find_fp(0xf0000, 0x10000);
    int cpus = 0;
    if (fp && rd8(fp + 11) != 0) { /* feature byte 1: a default configuration */
        add_cpu(out, max, &cpus, 0, true);
        add_cpu(out, max, &cpus, 1, false);
    } else if (fp && rd32(fp + 4)) {
        cpus = list_cpus(rd32(fp + 4), out, max);
    }
    if (cpus == 0)
        add_cpu(out, max, &cpus, 0, true);
    return cpus;
}
