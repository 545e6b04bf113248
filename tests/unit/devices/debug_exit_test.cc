// isa-debug-exit: QEMU's exit-status convention on port 0xf4.
#include "devices/legacy/debug_exit.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/fakes/bus_harness.h"

namespace vmm::dev {
namespace {

class DebugExitTest : public ::testing::Test {
 protected:
  DebugExitTest() : dev_("debug-exit", [this](int status) { statuses_.push_back(status); }) {
    EXPECT_TRUE(dev_.attach(bus_).ok());
  }
  std::vector<int> statuses_;
  DebugExit dev_;
  test::BusHarness bus_;
};

TEST_F(DebugExitTest, WriteExitsWithShiftedStatus) {
  bus_.outb(0xf4, 0x10);
  bus_.outw(0xf4, 0x0000);
  bus_.outl(0xf4, 0x31);
  EXPECT_EQ(statuses_, std::vector<int>({0x21, 0x01, 0x63}));
}

TEST_F(DebugExitTest, AnyOffsetInTheRangeCounts) {
  bus_.outb(0xf7, 0x02);
  bus_.outw(0xf6, 0x0102);
  EXPECT_EQ(statuses_, std::vector<int>({0x05, 0x205}));
}

TEST_F(DebugExitTest, WideValuesKeep32Bits) {
  bus_.outl(0xf4, 0xffffffff);
  ASSERT_EQ(statuses_.size(), 1u);
  EXPECT_EQ(static_cast<uint32_t>(statuses_[0]), 0xffffffffu);
}

TEST_F(DebugExitTest, ReadsReturnZeroLikeQemu) {
  EXPECT_EQ(bus_.inb(0xf4), 0x00);
  EXPECT_EQ(bus_.inl(0xf4), 0u);
  EXPECT_TRUE(statuses_.empty());
}

TEST_F(DebugExitTest, AccessPastTheRangeIsUnclaimed) {
  bus_.outl(0xf6, 0x1);
  EXPECT_FALSE(bus_.last_claimed());
  EXPECT_TRUE(statuses_.empty());
}

TEST_F(DebugExitTest, StateIsEmpty) {
  ASSERT_TRUE(dev_.pause().ok());
  auto saved = dev_.save();
  ASSERT_TRUE(saved.ok());
  EXPECT_TRUE(saved->empty());
  EXPECT_TRUE(dev_.load(*saved, 1).ok());
  EXPECT_EQ(dev_.schema(), "");
}

}  // namespace
}  // namespace vmm::dev
