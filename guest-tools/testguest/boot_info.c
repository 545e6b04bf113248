/* boot_info.c — validates and copies the PVH start info: command line and the
 * RAM map. Without a usable map (start info version 0, or no RAM entries) it
 * says so and assumes RAM is [0, 64 MiB). */
#include "boot_info.h"

#include "io.h"
#include "serial.h"
#include "start_info.h"

#define FALLBACK_RAM (64ull << 20)

struct ram_range {
    uint64_t start, end;
};

static char cmdline[BOOT_CMDLINE_MAX];
static struct ram_range ram[BOOT_MEMMAP_MAX];
static int ram_count;

static void error(const char *msg)
{
    serial_puts("TG error msg=");
    serial_puts(msg);
    serial_putc('\n');
}

static void copy_cmdline(uint64_t paddr)
{
    if (!paddr)
        return;
    const volatile char *s = phys_ptr(paddr);
    int n = 0;
    while (n < BOOT_CMDLINE_MAX - 1 && s[n]) {
        cmdline[n] = s[n];
        n++;
    }
    cmdline[n] = 0;
    if (s[n])
        error("cmdline-truncated");
}

static void copy_memmap(uint64_t paddr, uint32_t entries)
{
    const struct hvm_memmap_table_entry *e = phys_ptr(paddr);
    for (uint32_t i = 0; i < entries; i++) {
        if (e[i].type != HVM_MEMMAP_TYPE_RAM || e[i].size == 0)
            continue;
        if (ram_count == BOOT_MEMMAP_MAX) {
            error("memmap-truncated");
            break;
        }
        ram[ram_count].start = e[i].addr;
        ram[ram_count].end = e[i].addr + e[i].size;
        ram_count++;
    }
}

void boot_info_load(uint64_t start_info_paddr)
{
    const struct hvm_start_info *si = phys_ptr(start_info_paddr);
    if (!start_info_paddr || si->magic != HVM_START_MAGIC_VALUE) {
        error("bad-start-info");
        si = 0;
    }
    if (si) {
        copy_cmdline(si->cmdline_paddr);
        if (si->version >= 1 && si->memmap_paddr)
            copy_memmap(si->memmap_paddr, si->memmap_entries);
    }
    if (ram_count == 0) {
        error("no-memmap");
        ram[0].start = 0;
        ram[0].end = FALLBACK_RAM;
        ram_count = 1;
    }
}

const char *boot_cmdline(void)
{
    return cmdline;
}

uint64_t boot_ram_bytes(void)
{
    uint64_t total = 0;
    for (int i = 0; i < ram_count; i++)
        total += ram[i].end - ram[i].start;
    return total;
}

/* Walks forward through RAM entries, so adjacent or overlapping entries that
 * together cover the range count as covering it. */
bool boot_ram_covers(uint64_t start, uint64_t end)
{
    uint64_t pos = start;
    while (pos < end) {
        uint64_t next = pos;
        for (int i = 0; i < ram_count; i++)
            if (ram[i].start <= pos && ram[i].end > next)
                next = ram[i].end;
        if (next == pos)
            return false;
        pos = next;
    }
    return true;
}
