// The register state a vCPU starts a kernel with, as the plain KVM structs
// the vCPU wrapper hands to KVM_SET_REGS / KVM_SET_SREGS / KVM_SET_MSRS.
// Pure functions: no ioctls here.
//
// PVH entry (xen/docs/misc/pvh.pandoc, "Entry point"): 32-bit protected mode
// with paging off; CR0 = PE (ET is hard-wired to 1), CR4 = 0; CS a flat
// 32-bit execute/read code segment, DS/ES/SS flat 32-bit read/write data;
// TR a 32-bit busy TSS with base 0 and limit 0x67 (VMX refuses to enter a
// guest whose TR is not a busy TSS, even in protected mode); EFLAGS with IF,
// TF and VM clear; EBX = physical address of hvm_start_info; EIP = entry.
// Only the boot vCPU gets this state: the others stay in KVM's reset state
// until the kernel wakes them with INIT/SIPI.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

// Selectors of the boot GDT at kBootGdtAddr.
constexpr uint16_t kBootCodeSelector = 0x08;
constexpr uint16_t kBootDataSelector = 0x10;
constexpr uint16_t kBootTssSelector = 0x18;

constexpr uint64_t kCr0Pe = 1ull << 0;
constexpr uint64_t kCr0Et = 1ull << 4;
constexpr uint64_t kRflagsReserved1 = 1ull << 1;  // always reads as 1

// Builds a segment descriptor (Intel SDM Vol. 3A §3.4.5). `flags` holds the
// access byte in bits 0-7 and G/DB/L/AVL in bits 12-15, as in Linux's
// GDT_ENTRY(); `limit` is the raw 20-bit limit.
constexpr uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit) {
  return ((uint64_t{base} & 0xff000000u) << 32) | ((uint64_t{base} & 0x00ffffffu) << 16) |
         (uint64_t{limit} & 0x0000ffffu) | ((uint64_t{limit} & 0x000f0000u) << 32) |
         ((uint64_t{flags} & 0xf0ffu) << 40);
}

// The boot GDT: null, flat 32-bit code (0xc09b), flat data (0xc093), and a
// busy 32-bit TSS (type 11) with base 0 and limit 0x67.
std::array<uint64_t, 4> boot_gdt();

// Writes boot_gdt() at kBootGdtAddr and an empty IDT at kBootIdtAddr.
// load_pvh calls it; so will the Linux loader.
Result<void> write_boot_gdt(GuestMemory& mem);

// The cached segment register KVM wants for `descriptor` loaded with
// `selector`: byte-granular limit, unusable if not present.
kvm_segment segment_from_descriptor(uint64_t descriptor, uint16_t selector);

// General-purpose registers for a PVH entry.
kvm_regs pvh_entry_regs(uint64_t entry_gpa, uint64_t start_info_gpa);

// Special registers for a PVH entry. `current` is what KVM_GET_SREGS
// returned: APIC base and the pending-interrupt bitmap are kept from it;
// everything the ABI fixes is overwritten.
kvm_sregs pvh_entry_sregs(const kvm_sregs& current);

// MSR values every vCPU starts with, as (index, value), the boot-protocol
// MSRs Firecracker sets (FC:docs/cpu_templates/boot-protocol.md,
// FC:src/vmm/src/arch/x86_64/msr.rs create_boot_msr_entries):
// SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE, TSC = 0;
// IA32_MISC_ENABLE = fast strings; IA32_MTRR_DEF_TYPE = 0x806 (MTRRs on,
// default write-back), the value of Firecracker PR #5526. Not 0xc06: FE
// (bit 10) would also switch on the fixed-range MTRRs, which nobody has
// programmed (all zero = uncacheable), making the first MiB UC.
std::vector<std::pair<uint32_t, uint64_t>> initial_msrs();

// MSR indices (Intel SDM Vol. 4, Table 2-2).
constexpr uint32_t kMsrIa32Tsc = 0x10;
constexpr uint32_t kMsrIa32SysenterCs = 0x174;
constexpr uint32_t kMsrIa32SysenterEsp = 0x175;
constexpr uint32_t kMsrIa32SysenterEip = 0x176;
constexpr uint32_t kMsrIa32MiscEnable = 0x1a0;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;

constexpr uint64_t kMiscEnableFastStrings = 1ull << 0;
constexpr uint64_t kMtrrDefTypeEnable = 1ull << 11;
constexpr uint64_t kMtrrTypeWriteBack = 6;

}  // namespace vmm::hv::boot
