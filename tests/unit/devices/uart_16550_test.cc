// 16550A UART driven through port I/O, the way a guest driver does.
#include "devices/legacy/uart_16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/bus_harness.h"
#include "tests/fakes/recording_irq_line.h"

namespace vmm::dev {
namespace {

constexpr uint16_t kBase = 0x3f8;
constexpr uint16_t kData = kBase + 0, kIer = kBase + 1, kIir = kBase + 2, kFcr = kBase + 2, kLcr = kBase + 3,
                   kMcr = kBase + 4, kLsr = kBase + 5, kMsr = kBase + 6, kScr = kBase + 7;

class UartTest : public ::testing::Test {
 protected:
  UartTest() : uart_("uart0", irq_, [this](std::span<const uint8_t> b) { out_.append(b.begin(), b.end()); }) {
    bus_.attach(kBase, Uart16550::kRegisterCount, uart_);
  }
  size_t receive(std::string_view s) {
    return uart_.receive(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  uint8_t iir_id() { return bus_.inb(kIir) & 0x0f; }

  test::RecordingIrqLine irq_;
  std::string out_;
  Uart16550 uart_;
  test::BusHarness bus_;
};

TEST_F(UartTest, PowerOnRegisters) {
  EXPECT_EQ(bus_.inb(kIer), 0x00);
  EXPECT_EQ(bus_.inb(kIir), 0x01);  // no interrupt, FIFO off
  EXPECT_EQ(bus_.inb(kLcr), 0x00);
  EXPECT_EQ(bus_.inb(kMcr), 0x00);
  EXPECT_EQ(bus_.inb(kLsr), 0x60);  // THRE | TEMT
  EXPECT_EQ(bus_.inb(kMsr), 0xb0);  // DCD | DSR | CTS
  EXPECT_FALSE(irq_.level());
}

TEST_F(UartTest, TransmitGoesToOutput) {
  for (char c : std::string("hi\n")) bus_.outb(kData, static_cast<uint8_t>(c));
  EXPECT_EQ(out_, "hi\n");
  EXPECT_EQ(bus_.inb(kLsr) & 0x60, 0x60);
}

TEST_F(UartTest, WideAccessActsAsConsecutiveBytes) {
  bus_.outw(kScr - 1, 0x1234);  // offset 6 (MSR, read-only) and 7 (SCR)
  EXPECT_EQ(bus_.inb(kScr), 0x12);
}

TEST_F(UartTest, DlabSelectsDivisorLatch) {
  bus_.outb(kLcr, 0x83);
  bus_.outb(kData, 0x01);
  bus_.outb(kIer, 0x02);
  EXPECT_EQ(bus_.inb(kData), 0x01);
  EXPECT_EQ(bus_.inb(kIer), 0x02);
  EXPECT_TRUE(out_.empty());  // the DLL write did not transmit
  bus_.outb(kLcr, 0x03);
  EXPECT_EQ(bus_.inb(kIer), 0x00);  // IER untouched by the DLM write
  EXPECT_EQ(uart_.state().dll, 0x01);
  EXPECT_EQ(uart_.state().dlm, 0x02);
}

TEST_F(UartTest, ScratchRegister) {
  bus_.outb(kScr, 0xa5);
  EXPECT_EQ(bus_.inb(kScr), 0xa5);
}

TEST_F(UartTest, ReceiveSetsDataReadyAndRaisesRxInterrupt) {
  bus_.outb(kIer, 0x01);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(receive("a"), 1u);
  EXPECT_EQ(bus_.inb(kLsr) & 0x01, 0x01);
  EXPECT_EQ(iir_id(), 0x04);
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(bus_.inb(kData), 'a');
  EXPECT_EQ(bus_.inb(kLsr) & 0x01, 0x00);
  EXPECT_EQ(iir_id(), 0x01);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(bus_.inb(kData), 0x00);  // empty RBR reads zero
}

TEST_F(UartTest, FifoDisabledHoldsOneByteAndPushesBack) {
  EXPECT_EQ(receive("xyz"), 1u);
  EXPECT_EQ(receive("yz"), 0u);
  EXPECT_EQ(bus_.inb(kData), 'x');
  EXPECT_EQ(receive("yz"), 1u);
  EXPECT_EQ(bus_.inb(kLsr) & 0x02, 0);  // host input never overruns
}

TEST_F(UartTest, FifoHoldsSixteenBytes) {
  bus_.outb(kFcr, 0x01);
  EXPECT_EQ(bus_.inb(kIir) & 0xc0, 0xc0);
  EXPECT_EQ(receive("0123456789abcdefXYZ"), 16u);
  std::string got;
  while (bus_.inb(kLsr) & 0x01) got += static_cast<char>(bus_.inb(kData));
  EXPECT_EQ(got, "0123456789abcdef");
}

TEST_F(UartTest, FcrClearsFifoAndModeChangeEmptiesIt) {
  bus_.outb(kFcr, 0x01);
  receive("abc");
  bus_.outb(kFcr, 0x03);  // clear RX
  EXPECT_EQ(bus_.inb(kLsr) & 0x01, 0);
  receive("abc");
  bus_.outb(kFcr, 0x00);  // FIFO off: both FIFOs emptied
  EXPECT_EQ(bus_.inb(kLsr) & 0x01, 0);
  EXPECT_EQ(bus_.inb(kIir) & 0xc0, 0x00);
  bus_.outb(kFcr, 0xc0);  // trigger bits without bit 0 are not programmed
  EXPECT_EQ(uart_.state().fcr, 0x00);
}

TEST_F(UartTest, RxTriggerLevelsAndTimeout) {
  bus_.outb(kIer, 0x01);
  const struct {
    uint8_t fcr;
    size_t level;
  } cases[] = {{0x01, 1}, {0x41, 4}, {0x81, 8}, {0xc1, 14}};
  for (auto c : cases) {
    SCOPED_TRACE(c.level);
    bus_.outb(kFcr, static_cast<uint8_t>(c.fcr | 0x02));
    for (size_t i = 1; i < c.level; ++i) {
      receive("x");
      // Below the trigger: character timeout (reported at once, see header).
      EXPECT_EQ(iir_id(), 0x0c);
      EXPECT_TRUE(irq_.level());
    }
    receive("x");
    EXPECT_EQ(iir_id(), 0x04);
  }
}

TEST_F(UartTest, LoopbackOverrunSetsOeAndLineStatusInterrupt) {
  bus_.outb(kFcr, 0x01);
  bus_.outb(kMcr, 0x10);
  bus_.outb(kIer, 0x05);  // RX data + line status
  for (int i = 0; i < 17; ++i) bus_.outb(kData, static_cast<uint8_t>('A' + i));
  EXPECT_TRUE(out_.empty());  // loopback keeps TX off the line
  EXPECT_EQ(iir_id(), 0x06);  // line status outranks RX data
  EXPECT_EQ(bus_.inb(kLsr) & 0x03, 0x03);  // OE | DR; the read clears OE
  EXPECT_EQ(bus_.inb(kLsr) & 0x02, 0x00);
  EXPECT_EQ(iir_id(), 0x04);
  std::string got;
  while (bus_.inb(kLsr) & 0x01) got += static_cast<char>(bus_.inb(kData));
  EXPECT_EQ(got, "ABCDEFGHIJKLMNOP");  // the 17th character was lost
}

TEST_F(UartTest, LoopbackOverrunWithoutFifoOverwritesRbr) {
  bus_.outb(kMcr, 0x10);
  bus_.outb(kData, '1');
  bus_.outb(kData, '2');
  EXPECT_EQ(bus_.inb(kLsr) & 0x03, 0x03);
  EXPECT_EQ(bus_.inb(kData), '2');
}

TEST_F(UartTest, LoopbackModemLinesAndDeltas) {
  bus_.inb(kMsr);
  bus_.outb(kMcr, 0x10);  // loop, all outputs off: every input drops
  EXPECT_EQ(bus_.inb(kMsr), 0x0b);  // DDCD | DDSR | DCTS
  bus_.outb(kMcr, 0x1a);  // OUT2 | RTS, as Linux's autoconfig probes
  EXPECT_EQ(bus_.inb(kMsr), 0x99);  // DCD | CTS with their deltas
  bus_.outb(kMcr, 0x1f);
  EXPECT_EQ(bus_.inb(kMsr) & 0xf0, 0xf0);
  bus_.outb(kMcr, 0x1b);  // OUT1 (RI) falls: trailing-edge RI
  EXPECT_EQ(bus_.inb(kMsr), 0xb4);
  bus_.outb(kMcr, 0x00);  // back to the attached terminal
  EXPECT_EQ(bus_.inb(kMsr) & 0xf0, 0xb0);
}

TEST_F(UartTest, ModemStatusInterruptHasLowestPriority) {
  bus_.inb(kMsr);
  bus_.outb(kIer, 0x0a);  // THRE + modem status
  EXPECT_EQ(iir_id(), 0x02);
  EXPECT_EQ(iir_id(), 0x01);  // reading IIR acknowledged THRE
  bus_.outb(kMcr, 0x10);
  EXPECT_EQ(iir_id(), 0x00);
  EXPECT_TRUE(irq_.level());
  bus_.inb(kMsr);
  EXPECT_EQ(iir_id(), 0x01);
  EXPECT_FALSE(irq_.level());
}

TEST_F(UartTest, ThreInterruptSemantics) {
  bus_.outb(kIer, 0x02);  // enabling ETBEI while THR is empty raises it
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(iir_id(), 0x02);
  EXPECT_FALSE(irq_.level());  // reading IIR cleared it
  EXPECT_EQ(iir_id(), 0x01);
  bus_.outb(kData, 'x');  // sent at once: THR empty again, pending again
  EXPECT_TRUE(irq_.level());
  bus_.outb(kIer, 0x00);
  EXPECT_FALSE(irq_.level());
  bus_.outb(kIer, 0x02);  // re-armed on enabling
  EXPECT_EQ(iir_id(), 0x02);
}

TEST_F(UartTest, IirPriorityOrder) {
  bus_.outb(kMcr, 0x10);
  bus_.outb(kIer, 0x0f);
  bus_.outb(kData, 'a');
  bus_.outb(kData, 'b');  // overrun without FIFO
  EXPECT_EQ(iir_id(), 0x06);
  bus_.inb(kLsr);
  EXPECT_EQ(iir_id(), 0x04);
  bus_.inb(kData);
  EXPECT_EQ(iir_id(), 0x02);
  EXPECT_EQ(iir_id(), 0x00);  // modem status deltas from entering loopback
  bus_.inb(kMsr);
  EXPECT_EQ(iir_id(), 0x01);
}

TEST_F(UartTest, IrqIsLevelDrivenWithoutRedundantCalls) {
  bus_.outb(kFcr, 0x01);
  bus_.outb(kIer, 0x01);
  receive("ab");
  receive("c");
  EXPECT_EQ(irq_.calls(), std::vector<bool>({true}));
  bus_.inb(kData);
  bus_.inb(kData);
  EXPECT_EQ(irq_.calls(), std::vector<bool>({true}));
  bus_.inb(kData);
  EXPECT_EQ(irq_.calls(), std::vector<bool>({true, false}));
}

TEST_F(UartTest, RxSpaceCallbackAfterBackPressure) {
  int calls = 0;
  uart_.set_rx_space_callback([&] { ++calls; });
  bus_.outb(kFcr, 0x01);
  EXPECT_EQ(receive("0123456789abcdef"), 16u);
  bus_.inb(kData);
  EXPECT_EQ(calls, 0);  // nobody was waiting
  EXPECT_EQ(receive("gh"), 1u);
  bus_.inb(kLsr);
  EXPECT_EQ(calls, 0);
  bus_.inb(kData);
  EXPECT_EQ(calls, 1);
  bus_.inb(kData);
  EXPECT_EQ(calls, 1);  // once per shortfall
  EXPECT_EQ(receive("h"), 1u);
}

TEST_F(UartTest, CallbackMayReenterTheDevice) {
  // The callback runs without the lock, so a console can push from it.
  std::string pending = "xyz";
  uart_.set_rx_space_callback([&] {
    size_t n = receive(pending);
    pending.erase(0, n);
  });
  EXPECT_EQ(receive("w"), 1u);
  size_t n = receive(pending);
  pending.erase(0, n);
  EXPECT_EQ(pending, "xyz");
  std::string got;
  for (int i = 0; i < 4; ++i) got += static_cast<char>(bus_.inb(kData));
  EXPECT_EQ(got, "wxyz");
  EXPECT_TRUE(pending.empty());
}

TEST_F(UartTest, LoopbackAndPauseRefuseHostInput) {
  int calls = 0;
  uart_.set_rx_space_callback([&] { ++calls; });
  bus_.outb(kMcr, 0x10);
  EXPECT_EQ(receive("a"), 0u);
  bus_.outb(kMcr, 0x00);
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(uart_.pause().ok());
  EXPECT_EQ(receive("a"), 0u);
  ASSERT_TRUE(uart_.resume().ok());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(receive("a"), 1u);
}

TEST_F(UartTest, ResumeRedrivesLineAndPostLoadRaisesNothing) {
  bus_.outb(kIer, 0x01);
  receive("a");
  ASSERT_TRUE(uart_.pause().ok());
  auto saved = uart_.save();
  ASSERT_TRUE(saved.ok());

  test::RecordingIrqLine irq2;
  Uart16550 restored("uart0", irq2, [](std::span<const uint8_t>) {});
  ASSERT_TRUE(restored.pause().ok());
  ASSERT_TRUE(restored.load(*saved, 1).ok());
  ASSERT_TRUE(restored.post_load().ok());
  EXPECT_TRUE(irq2.calls().empty());
  ASSERT_TRUE(restored.resume().ok());
  EXPECT_EQ(irq2.calls(), std::vector<bool>({true}));
  EXPECT_TRUE(irq2.level());
}

TEST_F(UartTest, ResetClearsRegistersAndDropsLine) {
  bus_.outb(kIer, 0x02);
  bus_.outb(kLcr, 0x1b);
  ASSERT_TRUE(irq_.level());
  uart_.reset();
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(bus_.inb(kLcr), 0x00);
  EXPECT_EQ(bus_.inb(kIer), 0x00);
}

TEST_F(UartTest, ReadOnlyRegisterWritesIgnored) {
  bus_.outb(kLsr, 0x00);
  bus_.outb(kMsr, 0x00);
  EXPECT_EQ(bus_.inb(kLsr), 0x60);
  EXPECT_EQ(bus_.inb(kMsr), 0xb0);
}

TEST_F(UartTest, LoadRejectsInconsistentState) {
  ASSERT_TRUE(uart_.pause().ok());
  auto good = *uart_.save();
  auto corrupt = [&](size_t at, uint8_t value) {
    auto bytes = good;
    bytes[at] = value;
    return uart_.load(bytes, 1);
  };
  // Field offsets follow Uart16550State::visit.
  EXPECT_FALSE(corrupt(0, 0x10).ok());   // IER reserved bit
  EXPECT_FALSE(corrupt(4, 0x61).ok());   // DR with an empty FIFO
  EXPECT_FALSE(corrupt(25, 16).ok());    // rx_head
  EXPECT_FALSE(corrupt(26, 2).ok());     // rx_count over the disabled FIFO's 1
  EXPECT_FALSE(corrupt(28, 1).ok());     // irq_asserted with nothing pending
  EXPECT_TRUE(corrupt(7, 0x42).ok());    // any divisor is fine
}

}  // namespace
}  // namespace vmm::dev
