// The guest physical memory map of an x86-64 vmm guest, and where the boot
// structures live in it. One place for every fixed address so the PVH loader,
// the Linux boot protocol loader, the MP table and the vCPU setup cannot
// disagree.
//
//   [0, 0x500)            real-mode IVT and BIOS data area: left zero
//   0x500                 boot GDT (4 descriptors), then an empty IDT at 0x520
//   0x6000 .. 0x6fff      PVH: hvm_start_info, module list, memory map
//   0x7000 .. 0x7fff      Linux boot protocol: zero page (struct boot_params)
//   0x8000 .. 0x8fff      Linux boot protocol: boot stack (top at 0x8ff0)
//   0x9000 .. 0xefff      Linux boot protocol: identity page tables (4 GiB)
//   0xf000 .. 0xf0ff      Linux boot protocol: GDT, empty IDT and 64-bit TSS
//   0x20000 .. 0x2ffff    kernel command line (64 KiB including the NUL)
//   0x9fc00 .. 0xfffff    EBDA / VGA / BIOS area, e820-reserved; the MP table
//                         starts at 0x9fc00, the last KiB of base memory
//   [1 MiB, low end)      kernel, then free RAM; the initrd at its top
//   [3 GiB, 4 GiB)        PCI hole: MMIO, IOAPIC 0xfec00000, LAPIC 0xfee00000
//   [4 GiB, ...)          RAM beyond the first 3 GiB
//
// The Linux addresses follow Firecracker's layout (FC:src/vmm/src/arch/x86_64/
// layout.rs), the PVH start info Cloud Hypervisor's (0x6000); the two sets do
// not overlap, so neither loader can clobber the other's structures.
#pragma once

#include <cstdint>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;

// --- The memory map -------------------------------------------------------

// RAM below 4 GiB stops here; the rest of RAM continues at kHighRamStart.
constexpr uint64_t kPciHoleStart = 3 * kGiB;
constexpr uint64_t kPciHoleEnd = 4 * kGiB;
constexpr uint64_t kHighRamStart = kPciHoleEnd;
// Default physical bases (Intel SDM Vol. 3A §10.4.1; 82093AA IOAPIC datasheet).
constexpr uint64_t kIoapicAddr = 0xfec00000;
constexpr uint64_t kLapicAddr = 0xfee00000;

// Base memory ends at 639 KiB, like on a PC with a 1 KiB EBDA; from there to
// 1 MiB is the EBDA, the VGA window and the BIOS area, all e820-reserved.
constexpr uint64_t kEbdaStart = 0x9fc00;
// The first byte above the legacy area: where kernels are loaded.
constexpr uint64_t kHighMemStart = 1 * kMiB;

constexpr uint64_t kMinMemBytes = 2 * kMiB;
constexpr uint64_t kMaxMemBytes = 1024 * kGiB;

// --- Fixed boot structures below 1 MiB -------------------------------------

// GDT used by every boot protocol: null, flat code, flat data, TSS
// (vcpu_boot_state.h). 0x500 is the first byte after the BIOS data area.
constexpr uint64_t kBootGdtAddr = 0x500;
constexpr uint64_t kBootGdtEntries = 4;
// An empty IDT: an exception before the guest loads its own triple-faults
// into a clean shutdown exit instead of vectoring through the (zero) IVT.
constexpr uint64_t kBootIdtAddr = 0x520;

// PVH (xen/include/public/arch-x86/hvm/start_info.h): the 56-byte
// hvm_start_info, the module list (32 bytes per module), the memory map
// (24 bytes per entry). All in one page.
constexpr uint64_t kPvhStartInfoAddr = 0x6000;
constexpr uint64_t kPvhModlistAddr = 0x6040;
constexpr uint64_t kPvhMaxModules = 4;
constexpr uint64_t kPvhMemmapAddr = 0x6100;
constexpr uint64_t kPvhMaxMemmapEntries = 128;

// Linux x86 boot protocol (Documentation/arch/x86/boot.rst), for the bzImage
// and 64-bit vmlinux loaders: the zero page, a boot stack, identity-mapped
// page tables for entering the kernel in long mode.
constexpr uint64_t kZeroPageAddr = 0x7000;
constexpr uint64_t kBootStackTop = 0x8ff0;
constexpr uint64_t kBootPageTablesAddr = 0x9000;

// Kernel command line, NUL-terminated. 64 KiB is far above Linux's
// COMMAND_LINE_SIZE (2 KiB on x86) and still well clear of the MP table.
constexpr uint64_t kCmdlineAddr = 0x20000;
constexpr uint64_t kCmdlineMaxSize = 64 * kKiB;

// Intel MP Spec 1.4 §4: the floating pointer must be in the first KiB of the
// EBDA, the last KiB of base memory or the BIOS ROM; Linux scans 0x9fc00
// (smp_scan_config(639 * 0x400, 0x400)). The configuration table follows it
// and may run on to the end of the reserved area.
constexpr uint64_t kMpTableAddr = kEbdaStart;
constexpr uint64_t kMpTableEnd = kHighMemStart;

// --- Functions --------------------------------------------------------------

// Checks a user-requested guest memory size: a whole number of pages,
// between kMinMemBytes and kMaxMemBytes.
Result<void> validate_memory_size(uint64_t mem_bytes);

// The RAM regions for `mem_bytes` of guest memory: [0, min(mem, 3 GiB)) and,
// above 3 GiB of RAM, the remainder at [4 GiB, ...). Total for any size
// (rounded down to a page; empty for less than a page), so it never aborts
// on user input; call validate_memory_size first to reject silly sizes with
// a clear message.
std::vector<RegionSpec> ram_layout(uint64_t mem_bytes);

// The RAM layout of an existing GuestMemory, sorted by address.
std::vector<RegionSpec> ram_layout_of(const GuestMemory& mem);

// End of the RAM region that contains kHighMemStart (0 if none): the limit
// for kernels and initrds, which never straddle the PCI hole.
uint64_t low_ram_end(const std::vector<RegionSpec>& ram);

}  // namespace vmm::hv::boot
