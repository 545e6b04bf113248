#include "hypervisor/memory/guest_memory.h"

#include <gtest/gtest.h>

#include <array>
#include <numeric>

namespace vmm::hv {
namespace {

constexpr uint64_t kMiB = 1 << 20;

GuestMemory two_regions() {
  // [0, 1 MiB) and [4 MiB, 6 MiB): a hole between them, like the PCI hole.
  auto m = GuestMemory::create({{0, kMiB}, {4 * kMiB, 2 * kMiB}});
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

TEST(GuestMemory, RejectsBadLayouts) {
  EXPECT_FALSE(GuestMemory::create({}).ok());
  EXPECT_FALSE(GuestMemory::create({{0, 100}}).ok());                     // not page sized
  EXPECT_FALSE(GuestMemory::create({{0x800, kPageSize}}).ok());           // not page aligned
  EXPECT_FALSE(GuestMemory::create({{0, 2 * kMiB}, {kMiB, kMiB}}).ok());  // overlap
  EXPECT_FALSE(GuestMemory::create({{~uint64_t{0} - kPageSize + 1, 2 * kPageSize}}).ok());  // wraps
}

TEST(GuestMemory, ReadsBackWhatWasWritten) {
  GuestMemory m = two_regions();
  std::array<uint8_t, 64> in{};
  std::iota(in.begin(), in.end(), 1);
  ASSERT_TRUE(m.write(4 * kMiB + 100, in).ok());
  std::array<uint8_t, 64> out{};
  ASSERT_TRUE(m.read(4 * kMiB + 100, out).ok());
  EXPECT_EQ(in, out);
  EXPECT_EQ(m.total_size(), 3 * kMiB);
}

TEST(GuestMemory, AccessesOutsideRamFailWhole) {
  GuestMemory m = two_regions();
  std::array<uint8_t, 16> buf{};
  buf.fill(0xaa);
  // Straddles the end of the first region into the hole: nothing is written.
  EXPECT_FALSE(m.write(kMiB - 8, buf).ok());
  std::array<uint8_t, 8> tail{};
  ASSERT_TRUE(m.read(kMiB - 8, tail).ok());
  EXPECT_EQ(tail, (std::array<uint8_t, 8>{}));
  EXPECT_FALSE(m.read(2 * kMiB, buf).ok());
  EXPECT_FALSE(m.read(~uint64_t{0} - 4, buf).ok());  // wraps
  EXPECT_FALSE(m.contains(6 * kMiB - 1, 2));
  EXPECT_TRUE(m.contains(6 * kMiB - 2, 2));
}

TEST(GuestMemory, AccessMaySpanAdjacentRegions) {
  auto made = GuestMemory::create({{0, kMiB}, {kMiB, kMiB}});
  ASSERT_TRUE(made.ok());
  GuestMemory m = std::move(made).value();
  std::array<uint8_t, 32> in{};
  std::iota(in.begin(), in.end(), 7);
  ASSERT_TRUE(m.write(kMiB - 16, in).ok());
  std::array<uint8_t, 32> out{};
  ASSERT_TRUE(m.read(kMiB - 16, out).ok());
  EXPECT_EQ(in, out);
}

TEST(GuestMemory, ObjectsRoundTrip) {
  GuestMemory m = two_regions();
  struct Pair {
    uint32_t a;
    uint32_t b;
  };
  ASSERT_TRUE(m.write_obj(0x1000, Pair{1, 2}).ok());
  auto back = m.read_obj<Pair>(0x1000);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->a, 1u);
  EXPECT_EQ(back->b, 2u);
  EXPECT_FALSE(m.read_obj<Pair>(kMiB - 4).ok());
}

TEST(GuestMemory, VmmWritesAreMarkedDirty) {
  GuestMemory m = two_regions();
  m.vmm_dirty().take();
  std::array<uint8_t, 2> two{1, 2};
  // The last byte of page 0x1ff of region 2 and the first of the next page.
  ASSERT_TRUE(m.write(4 * kMiB + 2 * kPageSize - 1, two).ok());
  uint64_t first_page_of_region2 = kMiB / kPageSize;
  EXPECT_FALSE(m.vmm_dirty().test(first_page_of_region2));
  EXPECT_TRUE(m.vmm_dirty().test(first_page_of_region2 + 1));
  EXPECT_TRUE(m.vmm_dirty().test(first_page_of_region2 + 2));
  auto words = m.vmm_dirty().take();
  EXPECT_EQ(words.size(), (3 * kMiB / kPageSize + 63) / 64);
  EXPECT_FALSE(m.vmm_dirty().test(first_page_of_region2 + 1)) << "take() clears";
  // host_span for writing marks too; for reading it does not.
  ASSERT_TRUE(m.host_span(0, 10, false).ok());
  EXPECT_FALSE(m.vmm_dirty().test(0));
  ASSERT_TRUE(m.host_span(0, 10, true).ok());
  EXPECT_TRUE(m.vmm_dirty().test(0));
  EXPECT_FALSE(m.host_span(kMiB - 4, 8, false).ok()) << "spans two regions";
}

}  // namespace
}  // namespace vmm::hv
