/* start_info.h — the PVH boot ABI structures (Xen public/arch-x86/hvm/start_info.h).
 * The loader (QEMU's PVH firmware or vmm) leaves a pointer to struct
 * hvm_start_info in %ebx at our 32-bit entry. Plain C that also compiles as C++,
 * so the host side may share it. */
#ifndef TG_START_INFO_H
#define TG_START_INFO_H

#include <stdint.h>

#define HVM_START_MAGIC_VALUE 0x336ec578u
#define HVM_MEMMAP_TYPE_RAM 1u

struct hvm_start_info {
    uint32_t magic;          /* HVM_START_MAGIC_VALUE */
    uint32_t version;        /* 0: no memmap fields; >= 1: memmap_* valid */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;  /* NUL-terminated ASCII, 0 if none */
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;   /* version >= 1 */
    uint32_t memmap_entries; /* version >= 1 */
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;           /* HVM_MEMMAP_TYPE_RAM = usable RAM (e820 numbering) */
    uint32_t reserved;
};

#endif
