// The memory map: RAM layouts for the sizes users ask for, the e820 map
// derived from them, and kernel format detection.
#include <gtest/gtest.h>

#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/kernel_format.h"
#include "hypervisor/boot/x86_layout.h"
#include "tests/unit/boot/elf_builder.h"

namespace vmm::hv::boot {

// Readable failure output (found by ADL, so outside the unnamed namespace).
void PrintTo(const E820Entry& e, std::ostream* os) {
  *os << std::hex << "{0x" << e.addr << " + 0x" << e.size << " type " << static_cast<uint32_t>(e.type) << "}";
}

namespace {

bool same(const std::vector<RegionSpec>& a, const std::vector<RegionSpec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].gpa != b[i].gpa || a[i].size != b[i].size) return false;
  }
  return true;
}

TEST(RamLayout, SmallGuestIsOneRegion) {
  EXPECT_TRUE(same(ram_layout(128 * kMiB), {{0, 128 * kMiB}}));
  EXPECT_TRUE(same(ram_layout(3 * kGiB), {{0, 3 * kGiB}}));
}

TEST(RamLayout, LargeGuestSkipsThePciHole) {
  EXPECT_TRUE(same(ram_layout(5 * kGiB), {{0, 3 * kGiB}, {4 * kGiB, 2 * kGiB}}));
  EXPECT_TRUE(same(ram_layout(3 * kGiB + kPageSize), {{0, 3 * kGiB}, {4 * kGiB, kPageSize}}));
}

TEST(RamLayout, NeverAbortsOnOddSizes) {
  EXPECT_TRUE(ram_layout(0).empty());
  EXPECT_TRUE(ram_layout(100).empty());
  EXPECT_TRUE(same(ram_layout(kMiB + 100), {{0, kMiB}}));
}

TEST(RamLayout, ValidatesSizes) {
  EXPECT_TRUE(validate_memory_size(128 * kMiB).ok());
  EXPECT_TRUE(validate_memory_size(kMinMemBytes).ok());
  auto r = validate_memory_size(kMiB);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "guest memory: 1024 KiB is too small (at least 2 MiB)");
  EXPECT_FALSE(validate_memory_size(128 * kMiB + 1).ok());
  EXPECT_FALSE(validate_memory_size(kMaxMemBytes + kPageSize).ok());
}

TEST(RamLayout, LowRamEnd) {
  EXPECT_EQ(low_ram_end(ram_layout(128 * kMiB)), 128 * kMiB);
  EXPECT_EQ(low_ram_end(ram_layout(5 * kGiB)), 3 * kGiB);
  EXPECT_EQ(low_ram_end({{0, 512 * kKiB}}), 0u);
}

TEST(RamLayout, FixedAddressesDoNotCollide) {
  struct Area {
    uint64_t start, end;
  };
  const Area areas[] = {
      {kBootGdtAddr, kBootGdtAddr + kBootGdtEntries * 8},
      {kBootIdtAddr, kBootIdtAddr + 8},
      {kPvhStartInfoAddr, kPvhStartInfoAddr + 56},
      {kPvhModlistAddr, kPvhModlistAddr + kPvhMaxModules * 32},
      {kPvhMemmapAddr, kPvhMemmapAddr + kPvhMaxMemmapEntries * 24},
      {kZeroPageAddr, kZeroPageAddr + kPageSize},
      {kBootStackTop - 0xff0, kBootStackTop},
      {kBootPageTablesAddr, kBootPageTablesAddr + 3 * kPageSize},
      {kCmdlineAddr, kCmdlineAddr + kCmdlineMaxSize},
      {kMpTableAddr, kMpTableEnd},
  };
  for (size_t i = 0; i < std::size(areas); ++i) {
    EXPECT_LE(areas[i].end, kHighMemStart) << i;
    for (size_t j = i + 1; j < std::size(areas); ++j) {
      EXPECT_TRUE(areas[i].end <= areas[j].start || areas[j].end <= areas[i].start) << i << " vs " << j;
    }
  }
  EXPECT_LT(kCmdlineAddr + kCmdlineMaxSize, kEbdaStart);  // usable RAM in e820
}

TEST(E820, OneHundredTwentyEightMiB) {
  std::vector<E820Entry> want = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x100000 - 0x9fc00, E820Type::kReserved},
      {0x100000, 127 * kMiB, E820Type::kRam},
  };
  EXPECT_EQ(e820_map(ram_layout(128 * kMiB)), want);
}

TEST(E820, ThreeGiB) {
  std::vector<E820Entry> want = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x60400, E820Type::kReserved},
      {kMiB, 3 * kGiB - kMiB, E820Type::kRam},
  };
  EXPECT_EQ(e820_map(ram_layout(3 * kGiB)), want);
}

TEST(E820, FiveGiB) {
  std::vector<E820Entry> want = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x60400, E820Type::kReserved},
      {kMiB, 3 * kGiB - kMiB, E820Type::kRam},
      {4 * kGiB, 2 * kGiB, E820Type::kRam},
  };
  EXPECT_EQ(e820_map(ram_layout(5 * kGiB)), want);
}

TEST(E820, SortedAndDisjointForUnsortedInput) {
  auto map = e820_map({{4 * kGiB, kGiB}, {0, 2 * kMiB}});
  ASSERT_EQ(map.size(), 4u);
  for (size_t i = 1; i < map.size(); ++i) EXPECT_LE(map[i - 1].end(), map[i].addr);
  EXPECT_EQ(map.back().addr, 4 * kGiB);
}

TEST(E820, RegionEndingInsideLegacyArea) {
  std::vector<E820Entry> want = {
      {0, 0x9fc00, E820Type::kRam},
      {0x9fc00, 0x60400, E820Type::kReserved},
  };
  EXPECT_EQ(e820_map({{0, 0xc0000}}), want);
}

// --- Kernel format ------------------------------------------------------------

std::vector<uint8_t> elf_with_notes(std::vector<test::TestNote> notes) {
  test::ElfBuilder b;
  b.segments.push_back({0x100000, test::pattern(64, 1), 64});
  if (!notes.empty()) b.note_segments.push_back(std::move(notes));
  return b.build();
}

TEST(KernelFormat, Detects) {
  EXPECT_EQ(detect_kernel_format(elf_with_notes({test::pvh_note(0x100000)})), KernelFormat::kElfPvh);
  EXPECT_EQ(detect_kernel_format(elf_with_notes({})), KernelFormat::kElfNoPvh);
  // A PVH note with a bad size is still PVH: load_pvh explains what is wrong.
  EXPECT_EQ(detect_kernel_format(elf_with_notes({test::pvh_note(0x100000, 3)})), KernelFormat::kElfPvh);
  // So is a broken ELF.
  auto truncated = elf_with_notes({});
  truncated.resize(30);
  EXPECT_EQ(detect_kernel_format(truncated), KernelFormat::kElfPvh);

  std::vector<uint8_t> bz(0x1000, 0);
  bz[0x1fe] = 0x55;
  bz[0x1ff] = 0xaa;
  std::memcpy(bz.data() + 0x202, "HdrS", 4);
  EXPECT_EQ(detect_kernel_format(bz), KernelFormat::kBzImage);
  bz[0x203] = 'x';
  EXPECT_EQ(detect_kernel_format(bz), KernelFormat::kUnknown);
  EXPECT_EQ(detect_kernel_format({}), KernelFormat::kUnknown);
}

TEST(KernelFormat, ElfAndBzImageAreBootable) {
  for (auto f : {KernelFormat::kElfPvh, KernelFormat::kElfNoPvh, KernelFormat::kBzImage}) {
    EXPECT_TRUE(check_kernel_bootable(f).ok()) << kernel_format_name(f);
  }
  auto r = check_kernel_bootable(KernelFormat::kUnknown);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kBadImage);
  EXPECT_EQ(r.error().message().rfind("kernel image: not an ELF file or a bzImage", 0), 0u);
  EXPECT_EQ(kernel_format_name(KernelFormat::kBzImage), "Linux bzImage");
}

}  // namespace
}  // namespace vmm::hv::boot
