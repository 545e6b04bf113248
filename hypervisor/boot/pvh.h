// PVH boot: loads an ELF kernel that carries a XEN_ELFNOTE_PHYS32_ENTRY note
// and prepares everything its 32-bit entry expects (Xen's PVH ABI,
// xen/docs/misc/pvh.pandoc; structures from xen/include/public/arch-x86/hvm/
// start_info.h, version 1):
//   - each PT_LOAD segment at its p_paddr, file bytes then zeros to p_memsz;
//   - the command line at kCmdlineAddr;
//   - an optional initrd, page-aligned at the top of RAM below 3 GiB, as
//     module 0 (kPvhModlistAddr);
//   - the memory map (e820_map) at kPvhMemmapAddr;
//   - hvm_start_info at kPvhStartInfoAddr, which %ebx points to at entry;
//   - the MP table (mptable.h) and the boot GDT (vcpu_boot_state.h).
// The vCPU register state for the entry comes from vcpu_boot_state.h.
//
// Segments must lie in the RAM below 3 GiB, at or above 1 MiB (below are the
// boot structures this loader writes; elf_segments.h), must not wrap or
// overlap each other, and the entry must lie inside one of them. No ACPI
// tables are passed (rsdp_paddr = 0).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/boot/elf.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

constexpr uint32_t kHvmStartMagic = 0x336ec578;  // "xEn3" with the top bit of each byte cleared
constexpr uint32_t kXenElfnotePhys32Entry = 18;  // xen/include/public/elfnote.h

struct HvmStartInfo {
  uint32_t magic;  // kHvmStartMagic
  uint32_t version;  // 1: the memmap fields are present
  uint32_t flags;  // SIF_*; none apply to us
  uint32_t nr_modules;
  uint64_t modlist_paddr;  // array of HvmModlistEntry
  uint64_t cmdline_paddr;  // NUL-terminated ASCII
  uint64_t rsdp_paddr;  // ACPI RSDP, 0 if none
  uint64_t memmap_paddr;  // array of HvmMemmapEntry
  uint32_t memmap_entries;
  uint32_t reserved;  // must be zero
};
static_assert(sizeof(HvmStartInfo) == 56);

struct HvmModlistEntry {
  uint64_t paddr;
  uint64_t size;
  uint64_t cmdline_paddr;  // 0 if none
  uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

struct HvmMemmapEntry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;  // XEN_HVM_MEMMAP_TYPE_*, the E820 values
  uint32_t reserved;
};
static_assert(sizeof(HvmMemmapEntry) == 24);

struct PvhConfig {
  std::string_view cmdline;  // without NUL; at most kCmdlineMaxSize - 1 bytes
  std::optional<std::span<const uint8_t>> initrd;
  uint32_t cpus = 1;  // for the MP table
};

struct GpaRange {
  uint64_t gpa;
  uint64_t size;
};

struct PvhBootInfo {
  uint64_t entry_gpa;  // %eip at entry
  uint64_t start_info_gpa;  // %ebx at entry
  uint64_t kernel_end;  // end of the highest loaded segment
  std::optional<GpaRange> initrd;
};

// The 32-bit physical entry point from the image's "Xen" note of type
// XEN_ELFNOTE_PHYS32_ENTRY. The descriptor may be 4 or 8 bytes (Linux and
// our test guest use 8); the value must fit in 32 bits.
Result<uint32_t> find_pvh_entry(const ElfImage& image);

// True if the image has a XEN_ELFNOTE_PHYS32_ENTRY note, valid or not.
bool has_pvh_entry_note(const ElfImage& image);

// Loads `elf` and writes the PVH boot structures through `mem`. Validates
// everything (image, command line, initrd size, vCPU count) before writing
// anything, so a failure leaves guest memory untouched. Errors name what was
// wrong: "kernel image: ...", "kernel command line: ...", "initrd: ...".
Result<PvhBootInfo> load_pvh(GuestMemory& mem, std::span<const uint8_t> elf, const PvhConfig& config);

}  // namespace vmm::hv::boot
