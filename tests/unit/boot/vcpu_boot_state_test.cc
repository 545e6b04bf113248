// The PVH entry register state and the boot GDT behind it.
#include "hypervisor/boot/vcpu_boot_state.h"

#include <gtest/gtest.h>

#include <map>

#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

TEST(VcpuBootState, GdtEncoding) {
  auto gdt = boot_gdt();
  EXPECT_EQ(gdt[0], 0u);
  EXPECT_EQ(gdt[1], 0x00cf9b000000ffffu);  // flat 32-bit code
  EXPECT_EQ(gdt[2], 0x00cf93000000ffffu);  // flat data
  EXPECT_EQ(gdt[3], 0x00008b0000000067u);  // busy 32-bit TSS, limit 0x67
  EXPECT_EQ(gdt_entry(0xa09b, 0x12345678, 0xfffff), 0x12af9b345678ffffu);
}

TEST(VcpuBootState, WritesGdt) {
  auto mem = GuestMemory::create({{0, 2 * kMiB}}).value();
  ASSERT_TRUE(mem.write_obj(kBootIdtAddr, ~uint64_t{0}).ok());
  ASSERT_TRUE(write_boot_gdt(mem).ok());
  EXPECT_EQ(mem.read_obj<uint64_t>(kBootGdtAddr + 8).value(), 0x00cf9b000000ffffu);
  EXPECT_EQ(mem.read_obj<uint64_t>(kBootGdtAddr + 24).value(), 0x00008b0000000067u);
  EXPECT_EQ(mem.read_obj<uint64_t>(kBootIdtAddr).value(), 0u);
  auto none = GuestMemory::create({{kMiB, kMiB}}).value();
  EXPECT_FALSE(write_boot_gdt(none).ok());
}

TEST(VcpuBootState, SegmentFromDescriptor) {
  auto code = segment_from_descriptor(0x00cf9b000000ffff, 0x8);
  EXPECT_EQ(code.base, 0u);
  EXPECT_EQ(code.limit, 0xffffffffu);
  EXPECT_EQ(code.selector, 0x8);
  EXPECT_EQ(code.type, 0xb);
  EXPECT_EQ(code.present, 1);
  EXPECT_EQ(code.dpl, 0);
  EXPECT_EQ(code.db, 1);
  EXPECT_EQ(code.s, 1);
  EXPECT_EQ(code.l, 0);
  EXPECT_EQ(code.g, 1);
  EXPECT_EQ(code.unusable, 0);
  auto odd = segment_from_descriptor(gdt_entry(0x20f3, 0xabcdef12, 0x12345), 0x2b);
  EXPECT_EQ(odd.base, 0xabcdef12u);
  EXPECT_EQ(odd.limit, 0x12345u);
  EXPECT_EQ(odd.dpl, 3);
  EXPECT_EQ(odd.l, 1);
  EXPECT_EQ(odd.g, 0);
  EXPECT_EQ(segment_from_descriptor(0, 0).unusable, 1);
}

TEST(VcpuBootState, PvhRegs) {
  kvm_regs r = pvh_entry_regs(0x100010, 0x6000);
  EXPECT_EQ(r.rip, 0x100010u);
  EXPECT_EQ(r.rbx, 0x6000u);
  EXPECT_EQ(r.rflags, 0x2u);  // IF, TF, VM clear
  EXPECT_EQ(r.rsp, 0u);
}

TEST(VcpuBootState, PvhSregs) {
  kvm_sregs current{};
  current.apic_base = 0xfee00900;
  current.efer = 0x500;  // stale long-mode bits must go
  current.cr4 = 0x20;
  current.interrupt_bitmap[1] = 4;
  kvm_sregs s = pvh_entry_sregs(current);

  EXPECT_EQ(s.cr0, 0x11u);  // PE | ET
  EXPECT_EQ(s.cr3, 0u);
  EXPECT_EQ(s.cr4, 0u);
  EXPECT_EQ(s.efer, 0u);
  EXPECT_EQ(s.apic_base, 0xfee00900u);
  EXPECT_EQ(s.interrupt_bitmap[1], 4u);

  EXPECT_EQ(s.cs.selector, kBootCodeSelector);
  EXPECT_EQ(s.cs.type, 0xb);
  EXPECT_EQ(s.cs.db, 1);
  EXPECT_EQ(s.cs.l, 0);
  EXPECT_EQ(s.cs.base, 0u);
  EXPECT_EQ(s.cs.limit, 0xffffffffu);
  for (const kvm_segment* d : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
    EXPECT_EQ(d->selector, kBootDataSelector);
    EXPECT_EQ(d->type, 0x3);
    EXPECT_EQ(d->base, 0u);
    EXPECT_EQ(d->limit, 0xffffffffu);
    EXPECT_EQ(d->db, 1);
    EXPECT_EQ(d->present, 1);
  }
  EXPECT_EQ(s.tr.selector, kBootTssSelector);
  EXPECT_EQ(s.tr.type, 11);  // 32-bit busy TSS: VMX needs it even in protected mode
  EXPECT_EQ(s.tr.base, 0u);
  EXPECT_EQ(s.tr.limit, 0x67u);
  EXPECT_EQ(s.tr.s, 0);
  EXPECT_EQ(s.tr.present, 1);
  EXPECT_EQ(s.ldt.type, 2);
  EXPECT_EQ(s.ldt.present, 1);
  EXPECT_EQ(s.gdt.base, kBootGdtAddr);
  EXPECT_EQ(s.gdt.limit, 31);
  EXPECT_EQ(s.idt.limit, 0);
}

TEST(VcpuBootState, InitialMsrs) {
  std::map<uint32_t, uint64_t> msrs;
  for (auto [index, value] : initial_msrs()) EXPECT_TRUE(msrs.emplace(index, value).second) << "duplicate";
  const std::map<uint32_t, uint64_t> want = {
      {0x174, 0},        {0x175, 0}, {0x176, 0}, {0xc0000081, 0}, {0xc0000082, 0},    {0xc0000083, 0},
      {0xc0000084, 0},   {0xc0000102, 0},        {0x10, 0},       {0x1a0, 1},        {0x2ff, 0x806},
  };
  EXPECT_EQ(msrs, want);
}

}  // namespace
}  // namespace vmm::hv::boot
