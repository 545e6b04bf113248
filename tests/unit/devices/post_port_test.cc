// Port 0x80 POST-code sink.
#include "devices/legacy/post_port.h"

#include <gtest/gtest.h>

#include "tests/fakes/bus_harness.h"

namespace vmm::dev {
namespace {

class PostPortTest : public ::testing::Test {
 protected:
  PostPortTest() : dev_("post") { EXPECT_TRUE(dev_.attach(bus_).ok()); }
  PostPort dev_;
  test::BusHarness bus_;
};

TEST_F(PostPortTest, WritesLatchTheLastCode) {
  EXPECT_EQ(dev_.last_code(), 0x00);
  bus_.outb(0x80, 0x12);
  bus_.outb(0x80, 0x34);
  EXPECT_EQ(dev_.last_code(), 0x34);
}

TEST_F(PostPortTest, ReadsReturnAllOnesLikeQemu) {
  bus_.outb(0x80, 0x12);
  EXPECT_EQ(bus_.inb(0x80), 0xff);
  EXPECT_TRUE(bus_.last_claimed());
  EXPECT_EQ(bus_.inw(0x80), 0xffff);  // wider than the range: the bus answers
  EXPECT_FALSE(bus_.last_claimed());
}

TEST_F(PostPortTest, ResetClearsTheCode) {
  bus_.outb(0x80, 0x55);
  dev_.reset();
  EXPECT_EQ(dev_.last_code(), 0x00);
}

TEST_F(PostPortTest, SaveLoadRoundTrip) {
  bus_.outb(0x80, 0xa5);
  ASSERT_TRUE(dev_.pause().ok());
  auto saved = dev_.save();
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(*saved, std::vector<uint8_t>({0xa5}));
  PostPort other("post");
  ASSERT_TRUE(other.load(*saved, 1).ok());
  EXPECT_EQ(other.last_code(), 0xa5);
  EXPECT_EQ(other.schema(), "last_code: u8\n");
}

}  // namespace
}  // namespace vmm::dev
