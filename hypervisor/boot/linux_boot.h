// The Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst,
// "64-bit Boot Protocol"), for two kinds of kernel image:
//
//   bzImage   the protected-mode part is loaded, as it is in the file, at
//             pref_address (aligned up to kernel_alignment, and at least
//             1 MiB), and entered at its startup_64, load address + 0x200.
//             init_size bytes from there must be RAM: the decompressor
//             works in that window. The real-mode setup code is not loaded
//             and never runs.
//   vmlinux   an uncompressed 64-bit ELF without a PVH note (one with a note
//             goes to load_pvh): each PT_LOAD at its p_paddr, entered at
//             e_entry, which Linux links as a physical address
//             (ENTRY(phys_startup_64) in arch/x86/kernel/vmlinux.lds.S).
//
// Both get the zero page at kZeroPageAddr (boot_params.h): for a bzImage its
// own setup header copied in (boot.rst: 0x1f1 up to 0x202 + the byte at
// 0x201), for a vmlinux a minimal one (boot flag, "HdrS", kernel_alignment)
// as Firecracker and Cloud Hypervisor fill it. Then:
//   - type_of_loader 0xff (undefined), loadflags with QUIET_FLAG and
//     KEEP_SEGMENTS cleared; CAN_USE_HEAP is left as the image has it, since
//     heap_end_ptr concerns the real-mode setup code, which never runs here;
//   - cmd_line_ptr = kCmdlineAddr, the command line NUL-terminated there; it
//     may be at most cmdline_size bytes (2047 for a vmlinux: x86's
//     COMMAND_LINE_SIZE is 2048 with the NUL);
//   - ramdisk_image/ramdisk_size: the initrd, page-aligned as high as
//     possible below both initrd_addr_max (0x7fffffff for a vmlinux) and the
//     end of low RAM (3 GiB at most), above the kernel's init_size window;
//   - the e820 table from e820_map() (at most 128 entries);
//   - acpi_rsdp_addr 0: no ACPI; the MP table (mptable.h) describes the vCPUs.
// The vCPU then starts in long mode (linux_entry_state.h) with RSI = the
// zero page.
//
// Everything is validated before anything is written, so a failure leaves
// guest memory untouched. Errors are one line: "kernel image: ...",
// "kernel command line: ...", "initrd: ...".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/boot/boot_params.h"
#include "hypervisor/boot/pvh.h"  // GpaRange
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

// Defaults for a vmlinux, which carries no setup header.
constexpr uint32_t kVmlinuxCmdlineSize = 2047;         // COMMAND_LINE_SIZE - 1
constexpr uint32_t kVmlinuxInitrdAddrMax = 0x7fffffff;  // what 2.03+ kernels declare
constexpr uint32_t kVmlinuxKernelAlignment = 0x200000;  // CONFIG_PHYSICAL_ALIGN default (2 MiB)

struct LinuxConfig {
  std::string_view cmdline;  // without NUL
  std::optional<std::span<const uint8_t>> initrd;
  uint32_t cpus = 1;  // for the MP table
};

struct LinuxBootInfo {
  uint64_t entry_gpa;      // RIP at entry (64-bit)
  uint64_t zero_page_gpa;  // RSI at entry
  uint64_t kernel_gpa;     // where the kernel (bzImage: its protected-mode part) starts
  uint64_t kernel_end;     // end of the memory the kernel may use before it parses e820
  std::optional<GpaRange> initrd;
};

// Loads a bzImage for the 64-bit entry.
Result<LinuxBootInfo> load_bzimage(GuestMemory& mem, std::span<const uint8_t> image, const LinuxConfig& config);

// Loads a 64-bit ELF vmlinux for the 64-bit entry, ignoring any PVH note.
Result<LinuxBootInfo> load_linux_elf(GuestMemory& mem, std::span<const uint8_t> elf, const LinuxConfig& config);

}  // namespace vmm::hv::boot
