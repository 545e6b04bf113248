// PioBus / MmioBus: range bookkeeping and dispatch (design §4).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "devices/bus.h"

namespace vmm::dev {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Records what reached it and answers reads with a fixed pattern.
class ProbeDevice : public BusDevice {
 public:
  struct Access {
    uint64_t base, offset;
    size_t size;
    bool write;
  };
  void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override {
    accesses.push_back({base, offset, data.size(), false});
    for (auto& b : data) b = 0x5a;
  }
  void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override {
    accesses.push_back({base, offset, data.size(), true});
  }
  std::vector<Access> accesses;
};

TEST(BusTest, InsertRejectsZeroLength) {
  PioBus bus;
  ProbeDevice d;
  auto r = bus.insert(0x100, 0, d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
}

TEST(BusTest, InsertRejectsOverlapFromEitherSide) {
  PioBus bus;
  ProbeDevice a, b;
  ASSERT_TRUE(bus.insert(0x100, 0x10, a).ok());
  // Starting below and running into it.
  auto below = bus.insert(0xf8, 0x09, b);
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code(), Errc::kOverlap);
  // Starting inside it.
  auto inside = bus.insert(0x10f, 0x4, b);
  ASSERT_FALSE(inside.ok());
  EXPECT_EQ(inside.error().code(), Errc::kOverlap);
  // Covering it entirely.
  EXPECT_EQ(bus.insert(0xf0, 0x100, b).error().code(), Errc::kOverlap);
  // Same base.
  EXPECT_EQ(bus.insert(0x100, 1, b).error().code(), Errc::kOverlap);
  // Exactly adjacent on both sides is fine.
  EXPECT_TRUE(bus.insert(0xf8, 0x08, b).ok());
  EXPECT_TRUE(bus.insert(0x110, 0x08, b).ok());
}

TEST(BusTest, PioRangesEndAt0xffff) {
  PioBus bus;
  ProbeDevice d;
  EXPECT_TRUE(bus.insert(0xffff, 1, d).ok());
  EXPECT_EQ(bus.insert(0xfffe, 3, d).error().code(), Errc::kOutOfRange);
  EXPECT_EQ(bus.insert(0x10000, 1, d).error().code(), Errc::kOutOfRange);
  EXPECT_EQ(bus.insert(0, 0x10001, d).error().code(), Errc::kOutOfRange);
  EXPECT_EQ(bus.insert(1, kMax, d).error().code(), Errc::kOutOfRange);
}

TEST(BusTest, MmioRangesEndAt2To64) {
  MmioBus bus;
  ProbeDevice d;
  EXPECT_TRUE(bus.insert(kMax, 1, d).ok());
  EXPECT_EQ(bus.insert(kMax - 1, 3, d).error().code(), Errc::kOutOfRange);
  EXPECT_EQ(bus.insert(2, kMax, d).error().code(), Errc::kOutOfRange);
  MmioBus whole;
  EXPECT_TRUE(whole.insert(0, kMax, d).ok());  // [0, 2^64 - 1)
}

TEST(BusTest, DispatchGivesBaseAndOffset) {
  PioBus bus;
  ProbeDevice d;
  ASSERT_TRUE(bus.insert(0x3f8, 8, d).ok());
  std::array<uint8_t, 2> buf{};
  EXPECT_TRUE(bus.read(0x3fd, buf));
  EXPECT_EQ(buf[0], 0x5a);
  std::array<uint8_t, 1> one{0x11};
  EXPECT_TRUE(bus.write(0x3ff, one));
  ASSERT_EQ(d.accesses.size(), 2u);
  EXPECT_EQ(d.accesses[0].base, 0x3f8u);
  EXPECT_EQ(d.accesses[0].offset, 5u);
  EXPECT_EQ(d.accesses[0].size, 2u);
  EXPECT_FALSE(d.accesses[0].write);
  EXPECT_EQ(d.accesses[1].offset, 7u);
  EXPECT_TRUE(d.accesses[1].write);
}

TEST(BusTest, AccessStraddlingTwoRangesIsUnclaimed) {
  PioBus bus;
  ProbeDevice a, b;
  ASSERT_TRUE(bus.insert(0x60, 1, a).ok());
  ASSERT_TRUE(bus.insert(0x61, 1, b).ok());
  std::array<uint8_t, 2> buf{};
  EXPECT_FALSE(bus.read(0x60, buf));
  EXPECT_EQ(buf[0], 0xff);
  EXPECT_EQ(buf[1], 0xff);
  EXPECT_FALSE(bus.write(0x60, buf));
  // An access running off the end of a range is unclaimed too.
  std::array<uint8_t, 4> wide{};
  EXPECT_FALSE(bus.read(0x61, wide));
  EXPECT_TRUE(a.accesses.empty());
  EXPECT_TRUE(b.accesses.empty());
}

TEST(BusTest, UnclaimedPioReadsAllOnesAndMmioZero) {
  PioBus pio;
  MmioBus mmio;
  std::array<uint8_t, 4> buf{};
  EXPECT_FALSE(pio.read(0x1234, buf));
  for (uint8_t b : buf) EXPECT_EQ(b, 0xff);
  buf.fill(0x77);
  EXPECT_FALSE(mmio.read(0xfee00000, buf));
  for (uint8_t b : buf) EXPECT_EQ(b, 0x00);
  EXPECT_FALSE(pio.write(0x1234, buf));
  EXPECT_FALSE(mmio.write(0xfee00000, buf));
}

TEST(BusTest, MmioAccessAtTopDoesNotWrap) {
  MmioBus bus;
  ProbeDevice d;
  ASSERT_TRUE(bus.insert(kMax, 1, d).ok());
  std::array<uint8_t, 1> one{};
  EXPECT_TRUE(bus.read(kMax, one));
  std::array<uint8_t, 2> two{};
  EXPECT_FALSE(bus.read(kMax, two));  // would wrap to address 0
}

TEST(BusTest, RemoveFreesTheRange) {
  PioBus bus;
  ProbeDevice a, b;
  ASSERT_TRUE(bus.insert(0x80, 1, a).ok());
  EXPECT_EQ(bus.remove(0x81).error().code(), Errc::kInvalidArgument);
  ASSERT_TRUE(bus.remove(0x80).ok());
  std::array<uint8_t, 1> buf{};
  EXPECT_FALSE(bus.read(0x80, buf));
  EXPECT_EQ(bus.remove(0x80).error().code(), Errc::kInvalidArgument);
  EXPECT_TRUE(bus.insert(0x80, 1, b).ok());
  EXPECT_TRUE(bus.read(0x80, buf));
  EXPECT_TRUE(a.accesses.empty());
  EXPECT_EQ(b.accesses.size(), 1u);
}

}  // namespace
}  // namespace vmm::dev
