/* boot_info.h — what the loader told us (PVH start info), copied into our own
 * memory at boot so later workloads may overwrite any other RAM. */
#ifndef TG_BOOT_INFO_H
#define TG_BOOT_INFO_H

#include <stdbool.h>
#include <stdint.h>

#define BOOT_CMDLINE_MAX 4096
#define BOOT_MEMMAP_MAX 64

void boot_info_load(uint64_t start_info_paddr); /* prints TG error lines on problems */
const char *boot_cmdline(void);                 /* never NULL */
uint64_t boot_ram_bytes(void);                  /* sum of RAM entries */
bool boot_ram_covers(uint64_t start, uint64_t end); /* [start, end) all RAM? */

#endif
