#include "hypervisor/boot/vcpu_boot_state.h"

#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {

std::array<uint64_t, 4> boot_gdt() {
  return {
      gdt_entry(0, 0, 0),
      gdt_entry(0xc09b, 0, 0xfffff),  // code: present, DPL 0, execute/read, accessed; 4 KiB granular, 32-bit
      gdt_entry(0xc093, 0, 0xfffff),  // data: present, DPL 0, read/write, accessed; 4 KiB granular, 32-bit
      gdt_entry(0x008b, 0, 0x67),     // TSS: present, 32-bit busy TSS, byte granular
  };
}

Result<void> write_boot_gdt(GuestMemory& mem) {
  static_assert(kBootGdtAddr + kBootGdtEntries * 8 <= kBootIdtAddr);
  VMM_TRY_CTX(mem.write_obj(kBootGdtAddr, boot_gdt()), "boot GDT");
  // The IDT register says limit 0 (pvh_entry_sregs); zero its one slot so a
  // dump of guest memory shows what the guest would see.
  VMM_TRY_CTX(mem.write_obj(kBootIdtAddr, uint64_t{0}), "boot IDT");
  return {};
}

kvm_segment segment_from_descriptor(uint64_t d, uint16_t selector) {
  kvm_segment s{};
  s.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
  uint32_t limit = static_cast<uint32_t>((d & 0xffff) | (((d >> 48) & 0xf) << 16));
  s.g = (d >> 55) & 1;
  // KVM (like the VMCS) holds the limit in bytes.
  s.limit = s.g ? (limit << 12) | 0xfff : limit;
  s.selector = selector;
  s.type = (d >> 40) & 0xf;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.unusable = s.present ? 0 : 1;
  return s;
}

kvm_regs pvh_entry_regs(uint64_t entry_gpa, uint64_t start_info_gpa) {
  kvm_regs regs{};
  regs.rflags = kRflagsReserved1;  // IF, TF, VM clear
  regs.rip = entry_gpa;
  regs.rbx = start_info_gpa;
  return regs;
}

kvm_sregs pvh_entry_sregs(const kvm_sregs& current) {
  kvm_sregs s = current;
  const auto gdt = boot_gdt();
  const kvm_segment code = segment_from_descriptor(gdt[1], kBootCodeSelector);
  const kvm_segment data = segment_from_descriptor(gdt[2], kBootDataSelector);
  s.cs = code;
  s.ds = s.es = s.fs = s.gs = s.ss = data;
  s.tr = segment_from_descriptor(gdt[3], kBootTssSelector);
  // LDTR as after RESET (Intel SDM Vol. 3A Table 9-1): no LDT, but a usable
  // descriptor type so VM entry's guest-state checks pass.
  s.ldt = kvm_segment{};
  s.ldt.limit = 0xffff;
  s.ldt.type = 2;
  s.ldt.present = 1;
  s.gdt.base = kBootGdtAddr;
  s.gdt.limit = static_cast<uint16_t>(kBootGdtEntries * 8 - 1);
  // Limit 0: any exception before the kernel loads its own IDT escalates to
  // a triple fault, a clean shutdown exit, rather than a jump through junk.
  s.idt.base = kBootIdtAddr;
  s.idt.limit = 0;
  s.cr0 = kCr0Pe | kCr0Et;
  s.cr2 = 0;
  s.cr3 = 0;
  s.cr4 = 0;
  s.cr8 = 0;
  s.efer = 0;
  return s;
}

std::vector<std::pair<uint32_t, uint64_t>> initial_msrs() {
  return {
      {kMsrIa32SysenterCs, 0},
      {kMsrIa32SysenterEsp, 0},
      {kMsrIa32SysenterEip, 0},
      {kMsrStar, 0},
      {kMsrCstar, 0},
      {kMsrKernelGsBase, 0},
      {kMsrSyscallMask, 0},
      {kMsrLstar, 0},
      {kMsrIa32Tsc, 0},
      {kMsrIa32MiscEnable, kMiscEnableFastStrings},
      {kMsrMtrrDefType, kMtrrDefTypeEnable | kMtrrTypeWriteBack},
  };
}

}  // namespace vmm::hv::boot
