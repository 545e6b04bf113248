// MC146818 RTC on a fake clock: register formats, the update cycle, periodic
// and alarm interrupts, SET, and the snapshot time policy.
#include "devices/legacy/cmos_rtc.h"

#include <gtest/gtest.h>

#include "tests/fakes/bus_harness.h"
#include "tests/fakes/fake_timer_factory.h"
#include "tests/fakes/recording_irq_line.h"

namespace vmm::dev {
namespace {

constexpr int64_t kMs = 1'000'000, kSec = 1'000'000'000;
constexpr uint8_t kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03, kHours = 0x04,
                  kHoursAlarm = 0x05, kWeekday = 0x06, kDay = 0x07, kMonth = 0x08, kYear = 0x09, kRegA = 0x0a,
                  kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d, kCentury = 0x32;

// The fake clock starts at 2024-03-01 12:34:56.5 UTC, a Friday.
class CmosRtcTest : public ::testing::Test {
 protected:
  CmosRtcTest() : rtc_("rtc", irq_, timers_) { bus_.attach(0x70, 2, rtc_); }

  uint8_t reg(uint8_t index) {
    bus_.outb(0x70, index);
    return bus_.inb(0x71);
  }
  void set(uint8_t index, uint8_t value) {
    bus_.outb(0x70, index);
    bus_.outb(0x71, value);
  }
  void advance(int64_t ns) { timers_.advance(ns); }
  int64_t mono() { return timers_.fake_clock().monotonic_ns(); }
  // Runs time forward, acknowledging every interrupt the way a driver's
  // handler does; returns how many there were.
  int count_interrupts(int64_t duration) {
    int64_t end = mono() + duration;
    int n = 0;
    for (;;) {
      auto next = timers_.next_deadline();
      if (!next || *next > end) break;
      advance(*next - mono());
      if (irq_.level()) {
        reg(kRegC);
        ++n;
      }
    }
    advance(end - mono());
    return n;
  }

  test::FakeTimerFactory timers_;
  test::RecordingIrqLine irq_;
  CmosRtc rtc_;
  test::BusHarness bus_;
};

TEST_F(CmosRtcTest, PowerOnControlRegisters) {
  EXPECT_EQ(reg(kRegA), 0x26);
  EXPECT_EQ(reg(kRegB), 0x02);
  EXPECT_EQ(reg(kRegD), 0x80);
  EXPECT_EQ(timers_.armed_count(), 0u);  // nothing enabled: no wakeups
}

TEST_F(CmosRtcTest, BcdTimeFromHostRealtime) {
  EXPECT_EQ(reg(kSeconds), 0x56);
  EXPECT_EQ(reg(kMinutes), 0x34);
  EXPECT_EQ(reg(kHours), 0x12);
  EXPECT_EQ(reg(kWeekday), 6);
  EXPECT_EQ(reg(kDay), 0x01);
  EXPECT_EQ(reg(kMonth), 0x03);
  EXPECT_EQ(reg(kYear), 0x24);
  EXPECT_EQ(reg(kCentury), 0x20);
}

TEST_F(CmosRtcTest, BinaryMode) {
  set(kRegB, 0x06);
  EXPECT_EQ(reg(kSeconds), 56);
  EXPECT_EQ(reg(kMinutes), 34);
  EXPECT_EQ(reg(kHours), 12);
  EXPECT_EQ(reg(kYear), 24);
  EXPECT_EQ(reg(kCentury), 20);
}

TEST_F(CmosRtcTest, TwelveHourMode) {
  set(kRegB, 0x00);  // BCD, 12-hour
  EXPECT_EQ(reg(kHours), 0x92);  // 12 PM
  advance(3600 * kSec);
  EXPECT_EQ(reg(kHours), 0x81);  // 1 PM
  set(kRegB, 0x04);  // binary, 12-hour
  EXPECT_EQ(reg(kHours), 0x81);
  advance(11 * 3600 * kSec);  // 00:34: 12 AM
  EXPECT_EQ(reg(kHours), 12);
  // Setting 11 PM in 12-hour form reads back as 23 in 24-hour form.
  set(kRegB, 0x84);
  set(kHours, 0x8b);
  set(kRegB, 0x04);
  EXPECT_EQ(reg(kHours), 0x8b);
  set(kRegB, 0x06);
  EXPECT_EQ(reg(kHours), 23);
}

TEST_F(CmosRtcTest, UpdateCycleUipWindowAndUpdateFlag) {
  set(kRegA, 0x20);  // no periodic rate, to see UF alone
  reg(kRegC);
  // 0.5 s into second :56. UIP covers the last 244 us before :57.
  advance(500 * kMs - 245'000);
  EXPECT_EQ(reg(kRegA), 0x20);
  EXPECT_EQ(reg(kRegC), 0x00);
  advance(1'000);
  EXPECT_EQ(reg(kRegA), 0xa0);
  EXPECT_EQ(reg(kSeconds), 0x56);  // the update has not happened yet
  advance(244'000);
  EXPECT_EQ(reg(kRegA), 0x20);
  EXPECT_EQ(reg(kSeconds), 0x57);
  EXPECT_EQ(reg(kRegC), 0x10);  // UF, no IRQF: UIE is off
  EXPECT_EQ(reg(kRegC), 0x00);  // cleared by the read
  EXPECT_FALSE(irq_.level());
}

TEST_F(CmosRtcTest, UpdateInterruptHoldsLineUntilRegCRead) {
  set(kRegA, 0x20);
  set(kRegB, 0x12);  // UIE
  EXPECT_EQ(timers_.armed_count(), 1u);
  advance(500 * kMs - 1);
  EXPECT_FALSE(irq_.level());
  advance(1);
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(timers_.armed_count(), 0u);  // nothing to do until the guest acknowledges
  advance(5 * kSec);
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(reg(kRegC), 0x90);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(count_interrupts(10 * kSec), 10);
}

TEST_F(CmosRtcTest, PeriodicRates) {
  const struct {
    uint8_t rs;
    int per_second;
  } cases[] = {{0x06, 1024}, {0x03, 8192}, {0x0f, 2}, {0x01, 256}, {0x02, 128}};
  set(kRegB, 0x42);  // PIE
  for (auto c : cases) {
    SCOPED_TRACE(c.rs);
    set(kRegA, static_cast<uint8_t>(0x20 | c.rs));
    reg(kRegC);
    EXPECT_EQ(count_interrupts(kSec), c.per_second);
  }
}

TEST_F(CmosRtcTest, PeriodicNeedsDividerAndRate) {
  set(kRegB, 0x42);
  set(kRegA, 0x20);  // rate 0
  EXPECT_EQ(timers_.armed_count(), 0u);
  set(kRegA, 0x66);  // divider in reset
  EXPECT_EQ(timers_.armed_count(), 0u);
  advance(kSec);
  EXPECT_EQ(reg(kRegC), 0x00);
  set(kRegA, 0x46);  // DV 100: a test mode, not running
  advance(kSec);
  EXPECT_EQ(reg(kRegC), 0x00);
  set(kRegA, 0x26);
  EXPECT_EQ(timers_.armed_count(), 1u);
}

TEST_F(CmosRtcTest, PeriodicFlagSetWithoutInterruptEnable) {
  advance(kMs);  // rate 1024 Hz by default
  EXPECT_EQ(reg(kRegC), 0x40);
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(timers_.armed_count(), 0u);
}

TEST_F(CmosRtcTest, AlarmFiresAtMatchingSecond) {
  set(kRegA, 0x20);
  set(kHoursAlarm, 0x12);
  set(kMinutesAlarm, 0x34);
  set(kSecondsAlarm, 0x59);
  set(kRegB, 0x22);  // AIE
  reg(kRegC);
  advance(2 * kSec);  // 12:34:58.5
  EXPECT_FALSE(irq_.level());
  advance(kSec);  // 12:34:59.5, fired at :59.0
  EXPECT_TRUE(irq_.level());
  EXPECT_EQ(reg(kRegC) & 0xa0, 0xa0);
  EXPECT_EQ(count_interrupts(3600 * kSec), 0);  // next match is tomorrow
  EXPECT_EQ(count_interrupts(24 * 3600 * kSec), 1);
}

TEST_F(CmosRtcTest, AlarmDontCareMatchesEveryMinute) {
  set(kRegA, 0x20);
  set(kHoursAlarm, 0xff);
  set(kMinutesAlarm, 0xc0);
  set(kSecondsAlarm, 0x30);
  set(kRegB, 0x22);
  reg(kRegC);
  EXPECT_EQ(count_interrupts(10 * 60 * kSec), 10);
  set(kSecondsAlarm, 0xc5);  // all don't care: every second
  EXPECT_EQ(count_interrupts(10 * kSec), 10);
}

TEST_F(CmosRtcTest, AlarmFlagSetLazilyWithoutInterrupt) {
  set(kRegA, 0x20);
  set(kSecondsAlarm, 0xc0);
  set(kMinutesAlarm, 0xc0);
  set(kHoursAlarm, 0xc0);
  reg(kRegC);
  EXPECT_EQ(timers_.armed_count(), 0u);
  advance(kSec);
  EXPECT_EQ(reg(kRegC), 0x30);  // AF | UF
}

TEST_F(CmosRtcTest, SetBitFreezesAndLetsGuestSetTime) {
  set(kRegB, 0x92);  // SET with UIE: SET clears UIE
  EXPECT_EQ(reg(kRegB), 0x82);
  advance(5 * kSec);
  EXPECT_EQ(reg(kSeconds), 0x56);  // frozen
  set(kCentury, 0x20);
  set(kYear, 0x23);
  set(kMonth, 0x12);
  set(kDay, 0x31);
  set(kHours, 0x23);
  set(kMinutes, 0x59);
  set(kSeconds, 0x58);
  advance(10 * kSec);
  EXPECT_EQ(reg(kSeconds), 0x58);
  EXPECT_EQ(reg(kRegA) & 0x80, 0);  // no UIP while SET
  set(kRegB, 0x02);  // run from 23:59:58.0
  advance(2 * kSec);
  EXPECT_EQ(reg(kSeconds), 0x00);
  EXPECT_EQ(reg(kMinutes), 0x00);
  EXPECT_EQ(reg(kHours), 0x00);
  EXPECT_EQ(reg(kDay), 0x01);
  EXPECT_EQ(reg(kMonth), 0x01);
  EXPECT_EQ(reg(kYear), 0x24);
  EXPECT_EQ(reg(kWeekday), 2);  // 2024-01-01 was a Monday
}

TEST_F(CmosRtcTest, WritingTimeWhileRunningMovesTheClock) {
  set(kMinutes, 0x00);
  EXPECT_EQ(reg(kMinutes), 0x00);
  EXPECT_EQ(reg(kSeconds), 0x56);
  advance(kSec);
  EXPECT_EQ(reg(kSeconds), 0x57);
  EXPECT_EQ(reg(kMinutes), 0x00);
  EXPECT_EQ(reg(kHours), 0x12);
}

TEST_F(CmosRtcTest, DividerResetStopsClockAndRestartsHalfSecondLater) {
  set(kRegA, 0x70);
  advance(10 * kSec);
  EXPECT_EQ(reg(kSeconds), 0x56);
  set(kRegA, 0x20);
  advance(499 * kMs);
  EXPECT_EQ(reg(kSeconds), 0x56);
  advance(kMs);
  EXPECT_EQ(reg(kSeconds), 0x57);
}

TEST_F(CmosRtcTest, RegCAndDAreReadOnly) {
  set(kRegC, 0xff);
  set(kRegD, 0x00);
  EXPECT_EQ(reg(kRegC), 0x00);
  EXPECT_EQ(reg(kRegD), 0x80);
}

TEST_F(CmosRtcTest, IndexPortKeepsNmiBitAndReadsOpenBus) {
  bus_.outb(0x70, 0x8f);
  EXPECT_TRUE(rtc_.state().nmi_disabled);
  EXPECT_EQ(rtc_.state().index, 0x0f);
  bus_.outb(0x71, 0x5a);
  bus_.outb(0x70, 0x0f);
  EXPECT_FALSE(rtc_.state().nmi_disabled);
  EXPECT_EQ(bus_.inb(0x71), 0x5a);
  EXPECT_EQ(bus_.inb(0x70), 0xff);
}

TEST_F(CmosRtcTest, WordAccessWritesIndexThenData) {
  bus_.outw(0x70, 0x7740);  // index 0x40, data 0x77
  EXPECT_EQ(reg(0x40), 0x77);
}

TEST_F(CmosRtcTest, SetCmosByteForTheMachine) {
  rtc_.set_cmos_byte(0x34, 0x12);
  rtc_.set_cmos_byte(0x5b, 0x01);
  EXPECT_EQ(reg(0x34), 0x12);
  EXPECT_EQ(reg(0x5b), 0x01);
}

TEST_F(CmosRtcTest, ResetClearsEnablesAndFlagsButKeepsTime) {
  set(kRegB, 0x72);
  advance(kSec);
  EXPECT_TRUE(irq_.level());
  rtc_.reset();
  EXPECT_FALSE(irq_.level());
  EXPECT_EQ(reg(kRegB), 0x02);
  EXPECT_EQ(reg(kRegC), 0x00);
  EXPECT_EQ(reg(kSeconds), 0x57);
  EXPECT_EQ(timers_.armed_count(), 0u);
}

TEST_F(CmosRtcTest, PauseResumeContinuesFromCapturedTime) {
  advance(5 * kSec);  // 12:35:01.5
  ASSERT_TRUE(rtc_.pause().ok());
  EXPECT_EQ(rtc_.state().time_sec, 1'709'296'501);
  EXPECT_EQ(rtc_.state().time_nsec, 500'000'000u);
  ASSERT_TRUE(rtc_.pause().ok());  // idempotent
  advance(100 * kSec);             // the VM is stopped for 100 s
  EXPECT_EQ(reg(kSeconds), 0x01);  // paused: time holds still
  ASSERT_TRUE(rtc_.resume().ok());
  ASSERT_TRUE(rtc_.resume().ok());  // idempotent
  advance(kSec - 1);
  EXPECT_EQ(reg(kSeconds), 0x02);
  EXPECT_EQ(reg(kMinutes), 0x35);
}

// The "catch up with the host" clock policy after a restore.
TEST_F(CmosRtcTest, AdvancePausedTimeMovesTheCapturedTime) {
  advance(5 * kSec);  // 12:35:01.5
  rtc_.advance_paused_time(90 * kSec);  // running: ignored
  ASSERT_TRUE(rtc_.pause().ok());
  rtc_.advance_paused_time(90 * kSec + kSec / 2);
  EXPECT_EQ(rtc_.state().time_sec, 1'709'296'501 + 91);
  EXPECT_EQ(rtc_.state().time_nsec, 0u);
  EXPECT_EQ(reg(kSeconds), 0x32);  // 12:36:32
  EXPECT_EQ(reg(kMinutes), 0x36);
  ASSERT_TRUE(rtc_.resume().ok());
  advance(kSec);
  EXPECT_EQ(reg(kSeconds), 0x33);
}

TEST_F(CmosRtcTest, RestoreOnAnotherHostContinuesFromCapturedTime) {
  set(kRegB, 0x52);  // PIE | UIE
  advance(kSec);     // UF raised the line; unacknowledged
  ASSERT_TRUE(irq_.level());
  ASSERT_TRUE(rtc_.pause().ok());
  auto saved = rtc_.save();
  ASSERT_TRUE(saved.ok());

  // A host whose wall clock is a year off and whose monotonic clock differs.
  test::FakeTimerFactory other(test::FakeClock::kDefaultRealtimeNs + 365 * 86400 * kSec, 42 * kSec);
  test::RecordingIrqLine irq2;
  CmosRtc restored("rtc", irq2, other);
  ASSERT_TRUE(restored.pause().ok());
  ASSERT_TRUE(restored.load(*saved, 1).ok());
  ASSERT_TRUE(restored.post_load().ok());
  EXPECT_TRUE(irq2.calls().empty());  // post_load raises nothing
  ASSERT_TRUE(restored.resume().ok());
  EXPECT_TRUE(irq2.level());  // resume re-drives the asserted line
  test::BusHarness bus2;
  bus2.attach(0x70, 2, restored);
  other.advance(kSec);
  bus2.outb(0x70, kSeconds);
  EXPECT_EQ(bus2.inb(0x71), 0x58);  // 12:34:58.5: the saved 57.5 plus 1 s
  bus2.outb(0x70, kYear);
  EXPECT_EQ(bus2.inb(0x71), 0x24);
  bus2.outb(0x70, kRegC);
  EXPECT_EQ(bus2.inb(0x71) & 0xd0, 0xd0);
  EXPECT_FALSE(irq2.level());
  EXPECT_EQ(other.armed_count(), 1u);  // re-armed after the acknowledgement
}

TEST_F(CmosRtcTest, LoadRejectsBadValues) {
  ASSERT_TRUE(rtc_.pause().ok());
  auto good = *rtc_.save();
  auto corrupt = [&](size_t at, uint8_t value) {
    auto bytes = good;
    bytes[at] = value;
    return rtc_.load(bytes, 1);
  };
  // Offsets: cmos 0..127, index 128, nmi_disabled 129, time_sec 130..137,
  // time_nsec 138..141.
  EXPECT_FALSE(corrupt(kRegA, 0xa6).ok());  // UIP stored
  EXPECT_FALSE(corrupt(kRegC, 0x10 | 0x80).ok());  // IRQF without an enabled flag
  EXPECT_FALSE(corrupt(kRegD, 0x00).ok());
  EXPECT_FALSE(corrupt(128, 0x80).ok());
  EXPECT_FALSE(corrupt(141, 0x40).ok());  // nanoseconds past one second
  EXPECT_FALSE(corrupt(137, 0x7f).ok());  // year far beyond 9999
  EXPECT_TRUE(corrupt(kRegC, 0x10).ok());  // UF pending, not enabled
  EXPECT_TRUE(corrupt(0x40, 0xaa).ok());
}

}  // namespace
}  // namespace vmm::dev
