// The 64-bit entry state: identity map with 2 MiB pages over the first 4 GiB,
// the GDT with __BOOT_CS/__BOOT_DS and a 64-bit TSS, and the registers
// KVM gets (long mode, RSI = zero page, interrupts off).
#include <gtest/gtest.h>

#include <cstring>

#include "hypervisor/boot/linux_entry_state.h"
#include "hypervisor/boot/vcpu_boot_state.h"
#include "tests/unit/boot/linux_test_images.h"

namespace vmm::hv::boot {
namespace {

uint64_t entry_at(const std::vector<uint8_t>& tables, uint64_t gpa) {
  uint64_t v;
  std::memcpy(&v, tables.data() + (gpa - kLinuxPml4Addr), 8);
  return v;
}

// Walks the tables the way the MMU does, for a 4-level, 2 MiB-page map.
std::optional<uint64_t> translate(const std::vector<uint8_t>& t, uint64_t va) {
  uint64_t pml4e = entry_at(t, kLinuxPml4Addr + ((va >> 39) & 511) * 8);
  if (!(pml4e & kPtePresent)) return std::nullopt;
  uint64_t pdpt = pml4e & ~0xfffull;
  uint64_t pdpte = entry_at(t, pdpt + ((va >> 30) & 511) * 8);
  if (!(pdpte & kPtePresent)) return std::nullopt;
  EXPECT_FALSE(pdpte & kPtePageSize) << "no 1 GiB pages";
  uint64_t pd = pdpte & ~0xfffull;
  uint64_t pde = entry_at(t, pd + ((va >> 21) & 511) * 8);
  if (!(pde & kPtePresent)) return std::nullopt;
  EXPECT_TRUE(pde & kPtePageSize) << "2 MiB pages";
  EXPECT_TRUE(pde & kPteWritable);
  return (pde & ~0x1fffffull) | (va & 0x1fffff);
}

TEST(LinuxEntryState, PageTablesIdentityMapFourGiBWithTwoMiBPages) {
  auto t = linux_page_tables();
  ASSERT_EQ(t.size(), 6 * 0x1000u);
  for (uint64_t va : {uint64_t{0}, uint64_t{0x7000}, uint64_t{0x1000200}, uint64_t{0x3fffffff}, uint64_t{0x40000000},
                      uint64_t{0xbffff000}, uint64_t{0xfee00000}, uint64_t{0xffffffff}}) {
    auto pa = translate(t, va);
    ASSERT_TRUE(pa.has_value()) << std::hex << va;
    EXPECT_EQ(*pa, va);
  }
  EXPECT_FALSE(translate(t, 4 * kGiB).has_value());
  EXPECT_EQ(entry_at(t, kLinuxPml4Addr), kLinuxPdptAddr | 3);
  EXPECT_EQ(entry_at(t, kLinuxPdptAddr + 3 * 8), (kLinuxPdAddr + 0x3000) | 3);
  EXPECT_EQ(entry_at(t, kLinuxPdAddr + 8), 0x200000u | 0x83);
}

TEST(LinuxEntryState, GdtHasBootCsBootDsAndA64BitTss) {
  auto gdt = linux_boot_gdt();
  EXPECT_EQ(gdt[0], 0u);
  kvm_segment cs = segment_from_descriptor(gdt[kLinuxCodeSelector / 8], kLinuxCodeSelector);
  EXPECT_EQ(cs.l, 1);
  EXPECT_EQ(cs.db, 0);
  EXPECT_EQ(cs.type, 0xb);  // execute/read, accessed
  EXPECT_EQ(cs.s, 1);
  EXPECT_EQ(cs.present, 1);
  EXPECT_EQ(cs.dpl, 0);
  EXPECT_EQ(cs.base, 0u);
  EXPECT_EQ(cs.limit, 0xffffffffu);
  kvm_segment ds = segment_from_descriptor(gdt[kLinuxDataSelector / 8], kLinuxDataSelector);
  EXPECT_EQ(ds.type, 0x3);  // read/write, accessed
  EXPECT_EQ(ds.s, 1);
  EXPECT_EQ(ds.limit, 0xffffffffu);
  kvm_segment tr = segment_from_descriptor(gdt[kLinuxTssSelector / 8], kLinuxTssSelector);
  EXPECT_EQ(tr.type, 0xb);  // busy 64-bit TSS
  EXPECT_EQ(tr.s, 0);
  EXPECT_EQ(tr.present, 1);
  EXPECT_EQ(tr.base, kLinuxTssAddr);
  EXPECT_EQ(tr.limit, 0x67u);
  EXPECT_EQ(gdt[kLinuxTssSelector / 8 + 1], 0u);  // base[63:32]
}

TEST(LinuxEntryState, RegistersForThe64BitEntry) {
  kvm_regs r = linux64_entry_regs(0x1000200, kZeroPageAddr);
  EXPECT_EQ(r.rip, 0x1000200u);
  EXPECT_EQ(r.rsi, kZeroPageAddr);
  EXPECT_EQ(r.rflags, 2u) << "IF clear";
  EXPECT_EQ(r.rsp, kBootStackTop);

  kvm_sregs current{};
  current.apic_base = 0xfee00900;
  current.interrupt_bitmap[0] = 5;
  kvm_sregs s = linux64_entry_sregs(current);
  EXPECT_EQ(s.apic_base, 0xfee00900u);
  EXPECT_EQ(s.interrupt_bitmap[0], 5u);
  EXPECT_EQ(s.cr0, 0x80000011u);  // PG | ET | PE
  EXPECT_EQ(s.cr3, kLinuxPml4Addr);
  EXPECT_EQ(s.cr4, 0x20u);        // PAE
  EXPECT_EQ(s.efer, 0x500u);      // LMA | LME
  EXPECT_EQ(s.cs.selector, 0x10);
  EXPECT_EQ(s.cs.l, 1);
  for (const kvm_segment* seg : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
    EXPECT_EQ(seg->selector, 0x18);
    EXPECT_EQ(seg->present, 1);
  }
  EXPECT_EQ(s.tr.selector, 0x20);
  EXPECT_EQ(s.tr.type, 0xb);
  EXPECT_EQ(s.tr.base, kLinuxTssAddr);
  EXPECT_EQ(s.gdt.base, kLinuxGdtAddr);
  EXPECT_EQ(s.gdt.limit, 47);
  EXPECT_EQ(s.idt.limit, 0);
}

TEST(LinuxEntryState, WritesTheStructures) {
  GuestMemory mem = test::make_memory(16 * kMiB);
  ASSERT_TRUE(write_linux_boot_structures(mem).ok());
  EXPECT_EQ(test::read_bytes(mem, kLinuxPml4Addr, kLinuxPageTablesEnd - kLinuxPml4Addr), linux_page_tables());
  auto gdt = mem.read_obj<std::array<uint64_t, kLinuxGdtEntries>>(kLinuxGdtAddr);
  ASSERT_TRUE(gdt.ok());
  EXPECT_EQ(*gdt, linux_boot_gdt());
  EXPECT_EQ(mem.read_obj<uint16_t>(kLinuxTssAddr + 0x66).value(), 104) << "no I/O bitmap";
  EXPECT_EQ(mem.read_obj<uint64_t>(kLinuxTssAddr + 4).value(), 0u) << "RSP0";
}

}  // namespace
}  // namespace vmm::hv::boot
