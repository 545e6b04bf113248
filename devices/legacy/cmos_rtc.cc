#include "devices/legacy/cmos_rtc.h"

#include <fmt/format.h>

#include <algorithm>

#include "devices/legacy/rtc_calendar.h"
#include "hypervisor/base/log.h"

namespace vmm::dev {
namespace {

using rtc::floor_div;

constexpr uint8_t kRegSeconds = 0x00;
constexpr uint8_t kRegSecondsAlarm = 0x01;
constexpr uint8_t kRegMinutes = 0x02;
constexpr uint8_t kRegMinutesAlarm = 0x03;
constexpr uint8_t kRegHours = 0x04;
constexpr uint8_t kRegHoursAlarm = 0x05;
constexpr uint8_t kRegWeekday = 0x06;
constexpr uint8_t kRegDay = 0x07;
constexpr uint8_t kRegMonth = 0x08;
constexpr uint8_t kRegYear = 0x09;
constexpr uint8_t kRegA = 0x0a;
constexpr uint8_t kRegB = 0x0b;
constexpr uint8_t kRegC = 0x0c;
constexpr uint8_t kRegD = 0x0d;
constexpr uint8_t kRegCentury = 0x32;

constexpr uint8_t kAUip = 0x80;
constexpr uint8_t kADivider = 0x70;
constexpr uint8_t kADividerNormal = 0x20;  // 32.768 kHz time base
constexpr uint8_t kARate = 0x0f;

constexpr uint8_t kBSet = 0x80;
constexpr uint8_t kBPie = 0x40;
constexpr uint8_t kBAie = 0x20;
constexpr uint8_t kBUie = 0x10;
constexpr uint8_t kBSqwe = 0x08;
constexpr uint8_t kBBinary = 0x04;
constexpr uint8_t kB24Hour = 0x02;

constexpr uint8_t kCIrqf = 0x80;
constexpr uint8_t kCFlags = 0x70;  // PF, AF, UF: the same bits as PIE, AIE, UIE in reg B
constexpr uint8_t kCPf = 0x40;
constexpr uint8_t kCAf = 0x20;
constexpr uint8_t kCUf = 0x10;

constexpr uint8_t kDVrt = 0x80;

constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kTicksPerSec = 32768;  // the crystal the divider chain counts
constexpr int64_t kUipTicks = 8;         // 244.14 us before the update
constexpr int64_t kSecPerDay = 86400;
// Years 0000-9999: what the year and century registers can express.
constexpr int64_t kMinTime = -62'167'219'200;
constexpr int64_t kMaxTime = 253'402'300'799;

bool is_time_register(uint8_t reg) { return reg <= kRegYear ? reg % 2 == 0 || reg > kRegHoursAlarm : reg == kRegCentury; }

int64_t ticks(int64_t sec, int64_t nsec) { return sec * kTicksPerSec + nsec * kTicksPerSec / kNsPerSec; }

}  // namespace

CmosRtc::CmosRtc(std::string id, IrqLine& irq, TimerFactory& timers)
    : StatefulDevice(std::move(id)), irq_(irq), clock_(timers.clock()) {
  timer_ = timers.create([this] { on_timer(); });
  int64_t wall = clock_.realtime_ns();
  int64_t sec = floor_div(wall, kNsPerSec);
  set_time({sec, wall - sec * kNsPerSec});
  state_.time_sec = base_.sec;
  state_.time_nsec = static_cast<uint32_t>(base_.nsec);
}

CmosRtc::~CmosRtc() { timer_->cancel(); }

void CmosRtc::set_cmos_byte(uint8_t index, uint8_t value) {
  VMM_CHECK(index < CmosRtcState::kCmosSize && index > kRegD && index != kRegCentury);
  std::lock_guard lock(mutex_);
  state_.cmos[index] = value;
}

// ---------------------------------------------------------------- time base

CmosRtc::GuestTime CmosRtc::now() const {
  if (paused_) return {state_.time_sec, state_.time_nsec};
  int64_t total = base_.nsec + (clock_.monotonic_ns() - base_mono_);
  int64_t carry = floor_div(total, kNsPerSec);
  return {base_.sec + carry, total - carry * kNsPerSec};
}

void CmosRtc::set_time(GuestTime t) {
  base_ = t;
  base_mono_ = clock_.monotonic_ns();
  checked_ = t;
  if (paused_) {
    state_.time_sec = t.sec;
    state_.time_nsec = static_cast<uint32_t>(t.nsec);
  }
}

int64_t CmosRtc::to_monotonic(GuestTime t) const {
  // Events are at most two days ahead; the clamp only guards arithmetic.
  int64_t sec = std::clamp<int64_t>(t.sec - base_.sec, -kSecPerDay * 365, kSecPerDay * 365);
  return base_mono_ + sec * kNsPerSec + (t.nsec - base_.nsec);
}

bool CmosRtc::divider_running() const { return (state_.cmos[kRegA] & kADivider) == kADividerNormal; }
bool CmosRtc::clock_running() const { return divider_running() && !(state_.cmos[kRegB] & kBSet); }
bool CmosRtc::periodic_running() const { return divider_running() && (state_.cmos[kRegA] & kARate) != 0; }

int64_t CmosRtc::period_ticks() const {
  int rate = state_.cmos[kRegA] & kARate;
  if (rate < 3) rate += 7;  // RS 1 and 2 repeat RS 8 and 9 (the 256 and 128 Hz taps)
  return int64_t{1} << (rate - 1);
}

// ---------------------------------------------------------------- events

void CmosRtc::catch_up(GuestTime to) {
  GuestTime from = checked_;
  if (to <= from) return;
  checked_ = to;
  uint8_t flags = 0;
  // Settings only change after a catch_up, so they held over (from, to].
  if (clock_running()) {
    if (to.sec > from.sec) flags |= kCUf;
    auto alarm = next_alarm(from.sec + 1);
    if (alarm && *alarm <= to.sec) flags |= kCAf;
  }
  if (periodic_running()) {
    int64_t p = period_ticks();
    if (floor_div(ticks(to.sec, to.nsec), p) > floor_div(ticks(from.sec, from.nsec), p)) flags |= kCPf;
  }
  set_flags(state_.cmos[kRegC] | flags);
}

void CmosRtc::set_flags(uint8_t flags) {
  uint8_t& c = state_.cmos[kRegC];
  bool was = c & kCIrqf;
  // IRQF = PF.PIE + AF.AIE + UF.UIE; the IRQ pin follows it.
  bool irqf = (flags & state_.cmos[kRegB] & kCFlags) != 0;
  c = static_cast<uint8_t>((flags & kCFlags) | (irqf ? kCIrqf : 0));
  if (irqf != was) irq_.set_level(irqf);
}

void CmosRtc::rearm() {
  // With IRQF set the line cannot rise again until reg C is read, and flags
  // are computed lazily, so there is nothing to wake up for.
  uint8_t b = state_.cmos[kRegB];
  if (paused_ || (state_.cmos[kRegC] & kCIrqf)) {
    timer_->cancel();
    return;
  }
  std::optional<GuestTime> next;
  auto consider = [&](GuestTime e) {
    if (!next || e < *next) next = e;
  };
  GuestTime t = checked_;
  if (clock_running()) {
    if (b & kBUie) consider({t.sec + 1, 0});
    if (b & kBAie) {
      if (auto alarm = next_alarm(t.sec + 1)) consider({*alarm, 0});
    }
  }
  if ((b & kBPie) && periodic_running()) {
    int64_t p = period_ticks();
    int64_t tick = (floor_div(ticks(t.sec, t.nsec), p) + 1) * p;
    int64_t sec = floor_div(tick, kTicksPerSec);
    int64_t sub = tick - sec * kTicksPerSec;
    // Rounded up so that at the deadline the boundary has been crossed.
    consider({sec, (sub * kNsPerSec + kTicksPerSec - 1) / kTicksPerSec});
  }
  if (next) {
    timer_->arm(to_monotonic(*next));
  } else {
    timer_->cancel();
  }
}

void CmosRtc::on_timer() {
  std::lock_guard lock(mutex_);
  if (paused_) return;  // raced with pause(); resume() re-arms
  catch_up(now());
  rearm();
}

std::optional<int64_t> CmosRtc::next_alarm(int64_t from_sec) const {
  return rtc::next_alarm(state_.cmos[kRegSecondsAlarm], state_.cmos[kRegMinutesAlarm], state_.cmos[kRegHoursAlarm],
                         format(), from_sec);
}

rtc::RegisterFormat CmosRtc::format() const {
  return {(state_.cmos[kRegB] & kBBinary) != 0, (state_.cmos[kRegB] & kB24Hour) != 0};
}

// ---------------------------------------------------------------- registers

uint8_t CmosRtc::time_register(uint8_t reg, GuestTime t) const {
  rtc::RegisterFormat f = format();
  rtc::Civil c = rtc::civil_from_time(t.sec);
  switch (reg) {
    case kRegSeconds: return f.encode(c.second);
    case kRegMinutes: return f.encode(c.minute);
    case kRegHours: return f.encode_hour(c.hour);
    case kRegWeekday: return f.encode(c.weekday);
    case kRegDay: return f.encode(c.day);
    case kRegMonth: return f.encode(c.month);
    case kRegYear: return f.encode(c.year - floor_div(c.year, 100) * 100);
    case kRegCentury: return f.encode(floor_div(c.year, 100));
    default: return state_.cmos[reg];
  }
}

void CmosRtc::latch_time(GuestTime t) {
  for (uint8_t reg : {kRegSeconds, kRegMinutes, kRegHours, kRegWeekday, kRegDay, kRegMonth, kRegYear, kRegCentury}) {
    state_.cmos[reg] = time_register(reg, t);
  }
}

int64_t CmosRtc::registers_time() const {
  rtc::RegisterFormat f = format();
  bool clamped = false;
  auto get = [&](uint8_t reg, int lo, int hi) {
    int v = f.decode(state_.cmos[reg]);
    if (v < lo || v > hi) clamped = true;
    return std::clamp(v, lo, hi);
  };
  rtc::Civil c{};
  c.hour = f.decode_hour(state_.cmos[kRegHours]);
  if (c.hour < 0) {
    clamped = true;
    c.hour = 0;
  }
  c.year = int64_t{get(kRegCentury, 0, 99)} * 100 + get(kRegYear, 0, 99);
  c.month = get(kRegMonth, 1, 12);
  c.day = get(kRegDay, 1, 31);  // past the month's end rolls into the next, as time_from_civil counts
  c.minute = get(kRegMinutes, 0, 59);
  c.second = get(kRegSeconds, 0, 59);
  if (clamped) VMM_GUEST_WARN("{}: guest set an invalid RTC time; out-of-range fields clamped", instance_id());
  return rtc::time_from_civil(c);
}

uint8_t CmosRtc::read_data() {
  GuestTime t = now();
  catch_up(t);
  uint8_t reg = state_.index;
  switch (reg) {
    case kRegA: {
      bool uip = clock_running() && ticks(0, t.nsec) >= kTicksPerSec - kUipTicks;
      return state_.cmos[kRegA] | (uip ? kAUip : 0);
    }
    case kRegC: {
      uint8_t value = state_.cmos[kRegC];
      set_flags(0);
      rearm();
      return value;
    }
    default:
      return is_time_register(reg) && clock_running() ? time_register(reg, t) : state_.cmos[reg];
  }
}

void CmosRtc::write_data(uint8_t value) {
  GuestTime t = now();
  catch_up(t);
  uint8_t reg = state_.index;
  switch (reg) {
    case kRegA:
    case kRegB:
      write_control(reg, value, t);
      break;
    case kRegC:
    case kRegD:
      VMM_GUEST_WARN("{}: write {:#04x} to read-only register {:#04x} ignored", instance_id(), value, reg);
      return;
    default:
      if (is_time_register(reg) && clock_running()) {
        // The chip counts on from whatever is written: the clock moves.
        latch_time(t);
        state_.cmos[reg] = value;
        set_time({registers_time(), t.nsec});
      } else {
        state_.cmos[reg] = value;
      }
      break;
  }
  rearm();
}

void CmosRtc::write_control(uint8_t reg, uint8_t value, GuestTime t) {
  bool was_running = clock_running();
  bool divider_was_running = divider_running();
  if (reg == kRegA) {
    state_.cmos[kRegA] = value & static_cast<uint8_t>(~kAUip);  // UIP is read-only
  } else {
    if (value & kBSet) value &= static_cast<uint8_t>(~kBUie);  // SET clears UIE
    state_.cmos[kRegB] = value;
  }
  if (was_running && !clock_running()) {
    latch_time(t);  // frozen: the registers now hold the time
  } else if (!was_running && clock_running()) {
    // Counting restarts from the registers; out of divider reset the first
    // update comes 500 ms later.
    int64_t nsec = !divider_was_running ? kNsPerSec / 2 : 0;
    set_time({registers_time(), nsec});
  }
  set_flags(state_.cmos[kRegC]);  // the enables may have changed
}

// ---------------------------------------------------------------- Device

void CmosRtc::reset() {
  std::lock_guard lock(mutex_);
  catch_up(now());
  state_.cmos[kRegB] &= static_cast<uint8_t>(~(kBPie | kBAie | kBUie | kBSqwe));
  set_flags(0);
  rearm();
}

Result<void> CmosRtc::pause() {
  std::lock_guard lock(mutex_);
  if (paused_) return {};
  GuestTime t = now();
  catch_up(t);
  // Ignored on load while the clock runs, but makes a snapshot readable.
  if (clock_running()) latch_time(t);
  state_.time_sec = t.sec;
  state_.time_nsec = static_cast<uint32_t>(t.nsec);
  paused_ = true;
  timer_->cancel();
  return {};
}

void CmosRtc::advance_paused_time(int64_t ns) {
  std::lock_guard lock(mutex_);
  if (!paused_ || ns <= 0 || !clock_running()) return;
  int64_t total = int64_t{state_.time_nsec} + ns % 1'000'000'000;
  state_.time_sec += ns / 1'000'000'000 + total / 1'000'000'000;
  state_.time_nsec = static_cast<uint32_t>(total % 1'000'000'000);
  latch_time({state_.time_sec, state_.time_nsec});
}

Result<void> CmosRtc::resume() {
  std::lock_guard lock(mutex_);
  if (paused_) {
    paused_ = false;
    set_time({state_.time_sec, state_.time_nsec});
  }
  irq_.set_level(state_.cmos[kRegC] & kCIrqf);
  rearm();
  return {};
}

Result<void> CmosRtc::post_load() {
  std::lock_guard lock(mutex_);
  set_time({state_.time_sec, state_.time_nsec});
  rearm();  // cancels while paused
  return {};
}

void CmosRtc::read(uint64_t /*base*/, uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    // The index port is write-only; it reads as an open bus (QEMU: 0xff).
    data[i] = offset + i == 0 ? 0xff : read_data();
  }
}

void CmosRtc::write(uint64_t /*base*/, uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    if (offset + i == 0) {
      state_.index = data[i] & 0x7f;
      state_.nmi_disabled = data[i] & 0x80;
    } else {
      write_data(data[i]);
    }
  }
}

Result<void> CmosRtc::validate(const CmosRtcState& s) const {
  auto bad = [](std::string what) { return Error::make(Errc::kBadSnapshot, "cmos-rtc: " + what); };
  if (s.index >= CmosRtcState::kCmosSize) return bad(fmt::format("index {:#04x} out of range", s.index));
  if (s.time_nsec >= kNsPerSec) return bad(fmt::format("time_nsec {} is not below one second", s.time_nsec));
  if (s.time_sec < kMinTime || s.time_sec > kMaxTime) return bad(fmt::format("time_sec {} outside years 0-9999", s.time_sec));
  uint8_t b = s.cmos[kRegB], c = s.cmos[kRegC];
  if (s.cmos[kRegA] & kAUip) return bad("reg A has UIP stored");
  if ((b & kBSet) && (b & kBUie)) return bad("reg B has both SET and UIE");
  if (c & 0x0f) return bad(fmt::format("reg C {:#04x} has reserved bits", c));
  if (((c & kCIrqf) != 0) != ((c & b & kCFlags) != 0)) return bad("reg C IRQF disagrees with the flags");
  if (s.cmos[kRegD] != kDVrt) return bad(fmt::format("reg D {:#04x} is not VRT", s.cmos[kRegD]));
  return {};
}

}  // namespace vmm::dev
