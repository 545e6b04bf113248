#include "hypervisor/boot/linux_entry_state.h"

#include <cstring>

#include "hypervisor/boot/vcpu_boot_state.h"

namespace vmm::hv::boot {
namespace {

void put64(std::vector<uint8_t>& v, uint64_t offset, uint64_t value) { std::memcpy(v.data() + offset, &value, 8); }

}  // namespace

std::vector<uint8_t> linux_page_tables() {
  std::vector<uint8_t> t(kLinuxPageTablesEnd - kLinuxPml4Addr, 0);
  const uint64_t table = kPtePresent | kPteWritable;
  put64(t, kLinuxPml4Addr - kLinuxPml4Addr, kLinuxPdptAddr | table);
  for (uint64_t d = 0; d < kLinuxPageDirectories; ++d) {
    const uint64_t pd = kLinuxPdAddr + d * 0x1000;
    put64(t, kLinuxPdptAddr - kLinuxPml4Addr + d * 8, pd | table);
    for (uint64_t i = 0; i < 512; ++i) {
      const uint64_t phys = (d * 512 + i) * 2 * kMiB;
      put64(t, pd - kLinuxPml4Addr + i * 8, phys | table | kPtePageSize);
    }
  }
  return t;
}

std::array<uint64_t, kLinuxGdtEntries> linux_boot_gdt() {
  return {
      gdt_entry(0, 0, 0),
      gdt_entry(0, 0, 0),
      gdt_entry(0xa09b, 0, 0xfffff),  // code: present, DPL 0, execute/read, accessed; 4 KiB granular, L=1
      gdt_entry(0xc093, 0, 0xfffff),  // data: present, DPL 0, read/write, accessed; 4 KiB granular
      gdt_entry(0x008b, static_cast<uint32_t>(kLinuxTssAddr), kLinuxTssSize - 1),  // busy 64-bit TSS
      kLinuxTssAddr >> 32,  // upper half of the 16-byte system descriptor: base[63:32]
  };
}

Result<void> write_linux_boot_structures(GuestMemory& mem) {
  VMM_TRY_CTX(mem.write(kLinuxPml4Addr, linux_page_tables()), "boot page tables");
  VMM_TRY_CTX(mem.write_obj(kLinuxGdtAddr, linux_boot_gdt()), "boot GDT");
  VMM_TRY_CTX(mem.write_obj(kLinuxIdtAddr, uint64_t{0}), "boot IDT");
  std::array<uint8_t, kLinuxTssSize> tss{};
  // I/O map base at offset 0x66 = the TSS limit + 1: no I/O permission bitmap.
  const uint16_t iomap = kLinuxTssSize;
  std::memcpy(tss.data() + 0x66, &iomap, 2);
  VMM_TRY_CTX(mem.write_obj(kLinuxTssAddr, tss), "boot TSS");
  return {};
}

kvm_regs linux64_entry_regs(uint64_t entry_gpa, uint64_t zero_page_gpa) {
  kvm_regs regs{};
  regs.rflags = kRflagsReserved1;  // IF, TF clear
  regs.rip = entry_gpa;
  regs.rsi = zero_page_gpa;
  regs.rsp = kBootStackTop;
  regs.rbp = kBootStackTop;
  return regs;
}

kvm_sregs linux64_entry_sregs(const kvm_sregs& current) {
  kvm_sregs s = current;
  const auto gdt = linux_boot_gdt();
  s.cs = segment_from_descriptor(gdt[kLinuxCodeSelector / 8], kLinuxCodeSelector);
  const kvm_segment data = segment_from_descriptor(gdt[kLinuxDataSelector / 8], kLinuxDataSelector);
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = segment_from_descriptor(gdt[kLinuxTssSelector / 8], kLinuxTssSelector);
  // No LDT, but a usable descriptor type so VM entry's checks pass (as for PVH).
  s.ldt = kvm_segment{};
  s.ldt.limit = 0xffff;
  s.ldt.type = 2;
  s.ldt.present = 1;
  s.gdt.base = kLinuxGdtAddr;
  s.gdt.limit = static_cast<uint16_t>(kLinuxGdtEntries * 8 - 1);
  s.idt.base = kLinuxIdtAddr;
  s.idt.limit = 0;
  s.cr0 = kCr0Pe | kCr0Et | kCr0Pg;
  s.cr2 = 0;
  s.cr3 = kLinuxPml4Addr;
  s.cr4 = kCr4Pae;
  s.cr8 = 0;
  s.efer = kEferLme | kEferLma;
  return s;
}

}  // namespace vmm::hv::boot
