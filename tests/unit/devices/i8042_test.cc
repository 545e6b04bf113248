// i8042 controller and PS/2 keyboard driven through ports 0x60/0x64.
#include "devices/legacy/i8042.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/fakes/bus_harness.h"
#include "tests/fakes/recording_irq_line.h"

namespace vmm::dev {
namespace {

constexpr uint16_t kData = 0x60, kCmd = 0x64;

class I8042Test : public ::testing::Test {
 protected:
  I8042Test() : kbc_("i8042", irq1_, irq12_, [this] { ++resets_; }) {
    auto r = kbc_.attach(bus_);
    EXPECT_TRUE(r.ok());
  }
  // Reads everything queued, as a driver draining the output buffer.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> out;
    while (bus_.inb(kCmd) & 0x01) out.push_back(bus_.inb(kData));
    return out;
  }
  using Bytes = std::vector<uint8_t>;

  test::RecordingIrqLine irq1_, irq12_;
  int resets_ = 0;
  I8042 kbc_;
  test::BusHarness bus_;
};

TEST_F(I8042Test, PowerOnStatus) {
  uint8_t status = bus_.inb(kCmd);
  EXPECT_EQ(status & 0x01, 0);     // OBF clear
  EXPECT_EQ(status & 0x02, 0);     // IBF never set: commands complete at once
  EXPECT_EQ(status & 0x04, 0x04);  // SYS
  EXPECT_EQ(status & 0x10, 0x10);  // not inhibited
}

TEST_F(I8042Test, SelfTestAndInterfaceTests) {
  bus_.outb(kCmd, 0xaa);
  EXPECT_EQ(drain(), Bytes({0x55}));
  bus_.outb(kCmd, 0xab);
  EXPECT_EQ(drain(), Bytes({0x00}));
  bus_.outb(kCmd, 0xa9);
  EXPECT_EQ(drain(), Bytes({0x00}));
}

TEST_F(I8042Test, StatusA2TracksLastPortWritten) {
  bus_.outb(kCmd, 0xae);
  EXPECT_EQ(bus_.inb(kCmd) & 0x08, 0x08);
  bus_.outb(kData, 0xf4);
  EXPECT_EQ(bus_.inb(kCmd) & 0x08, 0x00);
}

TEST_F(I8042Test, CommandByteReadWrite) {
  bus_.outb(kCmd, 0x20);
  EXPECT_EQ(drain(), Bytes({0x45}));
  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x03);  // both interrupts, no SYS, no translation
  bus_.outb(kCmd, 0x20);
  EXPECT_EQ(drain(), Bytes({0x03}));
  EXPECT_EQ(bus_.inb(kCmd) & 0x04, 0);  // SYS follows the command byte
  bus_.outb(kCmd, 0xad);
  bus_.outb(kCmd, 0xa7);
  bus_.outb(kCmd, 0x20);
  EXPECT_EQ(drain(), Bytes({0x33}));
  bus_.outb(kCmd, 0xae);
  bus_.outb(kCmd, 0xa8);
  bus_.outb(kCmd, 0x20);
  EXPECT_EQ(drain(), Bytes({0x03}));
}

TEST_F(I8042Test, KeyboardResetReply) {
  bus_.outb(kData, 0xff);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xaa}));
}

TEST_F(I8042Test, KeyboardIdentifyTranslatedAndNot) {
  bus_.outb(kData, 0xf2);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xab, 0x41}));  // translation on by default
  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x05);
  bus_.outb(kData, 0xf2);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xab, 0x83}));
}

TEST_F(I8042Test, KeyboardCommandsWithDataBytes) {
  bus_.outb(kData, 0xed);
  EXPECT_EQ(drain(), Bytes({0xfa}));
  bus_.outb(kData, 0x07);
  EXPECT_EQ(drain(), Bytes({0xfa}));
  EXPECT_EQ(kbc_.state().keyboard.leds, 0x07);

  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x01);  // untranslated, to see raw set numbers
  bus_.outb(kData, 0xf0);
  bus_.outb(kData, 0x00);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xfa, 0x02}));
  bus_.outb(kData, 0xf0);
  bus_.outb(kData, 0x03);
  bus_.outb(kData, 0xf0);
  bus_.outb(kData, 0x00);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xfa, 0xfa, 0xfa, 0x03}));
  bus_.outb(kData, 0xf0);
  bus_.outb(kData, 0x09);
  EXPECT_EQ(drain(), Bytes({0xfa, 0xfe}));
}

TEST_F(I8042Test, EchoScanningAndOtherCommands) {
  bus_.outb(kData, 0xee);
  EXPECT_EQ(drain(), Bytes({0xee}));
  bus_.outb(kData, 0xf5);
  EXPECT_EQ(drain(), Bytes({0xfa}));
  uint8_t key = 0x1c;
  EXPECT_EQ(kbc_.inject_keyboard_bytes({&key, 1}), 0u);
  bus_.outb(kData, 0xf4);
  EXPECT_EQ(drain(), Bytes({0xfa}));
  EXPECT_EQ(kbc_.inject_keyboard_bytes({&key, 1}), 1u);
  EXPECT_EQ(drain(), Bytes({0x1c}));
  bus_.outb(kData, 0xf3);  // typematic rate: acknowledged
  EXPECT_EQ(drain(), Bytes({0xfa}));
}

TEST_F(I8042Test, ResetCommandCallsOnReset) {
  bus_.outb(kCmd, 0xfe);
  EXPECT_EQ(resets_, 1);
  bus_.outb(kCmd, 0xff);  // pulses nothing
  EXPECT_EQ(resets_, 1);
  bus_.outb(kCmd, 0xf0);  // pulses all four lines, reset among them
  EXPECT_EQ(resets_, 2);
}

TEST_F(I8042Test, OutputPortResetBitCallsOnReset) {
  bus_.outb(kCmd, 0xd0);
  EXPECT_EQ(drain(), Bytes({0xcf}));
  bus_.outb(kCmd, 0xd1);
  bus_.outb(kData, 0xdf);  // A20 and reset high: nothing happens
  EXPECT_EQ(resets_, 0);
  bus_.outb(kCmd, 0xd1);
  bus_.outb(kData, 0xde);
  EXPECT_EQ(resets_, 1);
}

TEST_F(I8042Test, Irq1PulsesForEachKeyboardByte) {
  bus_.outb(kData, 0xff);  // two reply bytes
  EXPECT_EQ(irq1_.rising_edges(), 1u);
  EXPECT_FALSE(irq1_.level());  // an edge, never a held level
  bus_.inb(kData);
  EXPECT_EQ(irq1_.rising_edges(), 2u);  // the next byte reached the head
  bus_.inb(kData);
  EXPECT_EQ(irq1_.rising_edges(), 2u);
  EXPECT_EQ(irq12_.rising_edges(), 0u);
}

TEST_F(I8042Test, Irq1FollowsCommandByteEnable) {
  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x04);  // interrupts off
  bus_.outb(kData, 0xee);
  EXPECT_EQ(irq1_.rising_edges(), 0u);
  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x05);  // enabling with a byte waiting raises it
  EXPECT_EQ(irq1_.rising_edges(), 1u);
  EXPECT_EQ(bus_.inb(kData), 0xee);
}

TEST_F(I8042Test, AuxBytesRaiseIrq12AndSetAuxObf) {
  bus_.outb(kCmd, 0x60);
  bus_.outb(kData, 0x07);
  bus_.outb(kCmd, 0xd3);
  bus_.outb(kData, 0x42);
  EXPECT_EQ(bus_.inb(kCmd) & 0x21, 0x21);
  EXPECT_EQ(irq12_.rising_edges(), 1u);
  EXPECT_EQ(irq1_.rising_edges(), 0u);
  EXPECT_EQ(bus_.inb(kData), 0x42);
  bus_.outb(kCmd, 0xd4);  // to the (absent) mouse
  bus_.outb(kData, 0xf4);
  EXPECT_EQ(bus_.inb(kCmd) & 0x21, 0x21);
  EXPECT_EQ(bus_.inb(kData), 0xfe);
  EXPECT_EQ(irq12_.rising_edges(), 2u);
  bus_.outb(kCmd, 0xd2);
  bus_.outb(kData, 0x99);
  EXPECT_EQ(bus_.inb(kCmd) & 0x21, 0x01);
  EXPECT_EQ(irq1_.rising_edges(), 1u);
}

TEST_F(I8042Test, InputPortAndEmptyDataReads) {
  bus_.outb(kCmd, 0xc0);
  EXPECT_EQ(drain(), Bytes({0x80}));
  EXPECT_EQ(bus_.inb(kData), 0x80);  // an empty buffer shows the last byte
}

TEST_F(I8042Test, OutputBufferIsBounded) {
  for (int i = 0; i < 10; ++i) bus_.outb(kData, 0xf2);  // 30 reply bytes
  EXPECT_EQ(drain().size(), I8042State::kQueueSize);
}

TEST_F(I8042Test, NewCommandAbandonsPendingDataByte) {
  bus_.outb(kCmd, 0x60);
  bus_.outb(kCmd, 0xaa);
  bus_.outb(kData, 0xf2);  // goes to the keyboard, not the command byte
  EXPECT_EQ(drain(), Bytes({0x55, 0xfa, 0xab, 0x41}));
  EXPECT_EQ(kbc_.state().command_byte, 0x45);
}

TEST_F(I8042Test, LoadRejectsBadQueueAndCommands) {
  ASSERT_TRUE(kbc_.pause().ok());
  auto good = *kbc_.save();
  auto corrupt = [&](size_t at, uint8_t value) {
    auto bytes = good;
    bytes[at] = value;
    return kbc_.load(bytes, 1);
  };
  // Offsets follow I8042State::visit: command_byte 0, output_port 1,
  // last_write_command 2, pending_command 3, out_data 4..19, out_aux 20..21,
  // out_head 22, out_count 23, kbd_line 24, aux_line 25, last_read 26,
  // keyboard 27..30.
  EXPECT_FALSE(corrupt(3, 0xaa).ok());
  EXPECT_FALSE(corrupt(4, 0x01).ok());   // data in an unused slot
  EXPECT_FALSE(corrupt(22, 16).ok());
  EXPECT_FALSE(corrupt(23, 17).ok());
  EXPECT_FALSE(corrupt(23, 1).ok());     // OBF with IRQ1 enabled but the line low
  EXPECT_FALSE(corrupt(30, 4).ok());     // scancode set 4
  EXPECT_FALSE(corrupt(1, 0xce).ok());   // CPU held in reset
  EXPECT_TRUE(corrupt(26, 0x12).ok());
}

}  // namespace
}  // namespace vmm::dev
