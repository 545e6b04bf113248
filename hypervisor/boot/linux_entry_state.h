// The state a vCPU enters a Linux kernel with through the 64-bit boot
// protocol (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): long
// mode with paging on; an identity map covering the kernel, the zero page and
// the command line; a GDT with a flat execute/read code descriptor at
// __BOOT_CS (0x10) and a flat read/write data descriptor at __BOOT_DS (0x18),
// CS = __BOOT_CS, DS/ES/SS = __BOOT_DS; interrupts off; RSI = the zero page.
//
// Beyond the protocol, for hosts like PVM (design §2): the identity map uses
// 2 MiB pages, never 1 GiB ones, and TR holds a valid 64-bit TSS. The map
// covers the whole first 4 GiB so everything the loader places below 4 GiB
// (kernel, initrd, boot data) is reachable whatever the guest size.
//
// The structures live below 64 KiB, after the zero page and the boot stack
// (x86_layout.h):
//   0x9000  PML4 (entry 0 -> PDPT)
//   0xa000  PDPT (entries 0-3 -> the four PDs)
//   0xb000  four page directories of 512 x 2 MiB pages, 0xb000..0xefff
//   0xf000  GDT: null, null, 64-bit code (0x10), data (0x18), TSS (0x20, 16 bytes)
//   0xf040  an empty IDT (limit 0: an early exception shuts the VM down cleanly)
//   0xf080  the 104-byte 64-bit TSS, zero but for its I/O map base
// Pure functions plus one writer; no ioctls here.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/boot/x86_layout.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

constexpr uint64_t kLinuxPml4Addr = kBootPageTablesAddr;
constexpr uint64_t kLinuxPdptAddr = kBootPageTablesAddr + 0x1000;
constexpr uint64_t kLinuxPdAddr = kBootPageTablesAddr + 0x2000;
constexpr uint64_t kLinuxIdentityMapBytes = 4 * kGiB;
constexpr uint64_t kLinuxPageDirectories = kLinuxIdentityMapBytes / kGiB;
constexpr uint64_t kLinuxPageTablesEnd = kLinuxPdAddr + kLinuxPageDirectories * 0x1000;
constexpr uint64_t kLinuxGdtAddr = 0xf000;
constexpr uint64_t kLinuxGdtEntries = 6;  // the TSS descriptor takes two slots
constexpr uint64_t kLinuxIdtAddr = 0xf040;
constexpr uint64_t kLinuxTssAddr = 0xf080;
constexpr uint64_t kLinuxTssSize = 104;
constexpr uint64_t kLinuxBootDataEnd = 0x10000;

// Selectors: __BOOT_CS and __BOOT_DS as boot.rst requires, then the TSS.
constexpr uint16_t kLinuxCodeSelector = 0x10;
constexpr uint16_t kLinuxDataSelector = 0x18;
constexpr uint16_t kLinuxTssSelector = 0x20;

static_assert(kLinuxPml4Addr >= kBootStackTop && kLinuxPageTablesEnd == kLinuxGdtAddr);
static_assert(kLinuxGdtAddr + kLinuxGdtEntries * 8 <= kLinuxIdtAddr && kLinuxIdtAddr + 8 <= kLinuxTssAddr);
static_assert(kLinuxTssAddr + kLinuxTssSize <= kLinuxBootDataEnd && kLinuxBootDataEnd <= kCmdlineAddr);

// Page-table entry bits (Intel SDM Vol. 3A §4.5).
constexpr uint64_t kPtePresent = 1ull << 0;
constexpr uint64_t kPteWritable = 1ull << 1;
constexpr uint64_t kPtePageSize = 1ull << 7;  // in a PD entry: a 2 MiB page

// Control register and EFER bits.
constexpr uint64_t kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;

// The page tables as bytes, from kLinuxPml4Addr to kLinuxPageTablesEnd.
std::vector<uint8_t> linux_page_tables();

// The GDT at kLinuxGdtAddr: null, null, flat 64-bit code (0xa09b), flat data
// (0xc093), a busy 64-bit TSS (type 11, base kLinuxTssAddr, limit 0x67) in
// slots 4-5.
std::array<uint64_t, kLinuxGdtEntries> linux_boot_gdt();

// Writes the page tables, the GDT, the empty IDT and the TSS.
Result<void> write_linux_boot_structures(GuestMemory& mem);

// General-purpose registers: RIP = entry, RSI = zero page, RSP = the boot
// stack, RFLAGS with IF clear; everything else zero.
kvm_regs linux64_entry_regs(uint64_t entry_gpa, uint64_t zero_page_gpa);

// Special registers for long mode on the structures above. `current` is what
// KVM_GET_SREGS returned: APIC base and pending interrupts are kept.
kvm_sregs linux64_entry_sregs(const kvm_sregs& current);

}  // namespace vmm::hv::boot
