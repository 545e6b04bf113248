// MC146818 CMOS real-time clock (snapshot type "cmos-rtc"): index port 0x70
// (bit 7 disables NMI; the bit is kept in state, the NMI itself is not
// modelled) and data port 0x71, registered as one two-byte range, over 128
// bytes of CMOS.
//
// State: the 128 CMOS bytes (time and alarm registers, registers A-D, RAM),
// the selected index and NMI-disable bit, and the guest's RTC time captured
// when the device was paused (seconds since 1970-01-01 of the RTC's own
// calendar, plus nanoseconds within the second).
//
// Implements: time registers 0x00-0x09 and century 0x32 in BCD or binary (reg
// B DM) and 12/24-hour form (reg B 24/12, PM in hours bit 7); reg A UIP for
// the 244 us before each second boundary, DV (only 010 runs the clock) and RS
// (periodic rate); reg B SET (freezes the registers for the guest to write;
// setting it clears UIE), PIE/AIE/UIE; reg C UF/AF/PF with IRQF, cleared on
// read; reg D VRT. Alarms honour don't-care values (0xC0-0xFF). Leaving divider
// reset starts the next second 500 ms later, as the datasheet says. A time
// register written while the clock runs moves the clock.
//
// Time: the RTC starts at host realtime (UTC) when constructed and then
// follows the monotonic clock, so a host wall-clock step does not jolt the
// guest. Flags are computed lazily from elapsed time when read; a one-shot
// timer is armed only for the next event whose interrupt is enabled and only
// while the IRQ line is not already asserted, so an idle RTC (or one whose
// guest has not acknowledged reg C) causes no host wakeups.
//
// IRQ8 is driven as a level that follows IRQF (high until reg C is read), as
// on the MC146818's open-drain IRQ pin and in QEMU; the PC's PIC and IO-APIC
// see its rising edge. resume() re-drives the level from reg C.
//
// Snapshot policy: pause() brings the flags up to date, captures the guest's
// current RTC time into the state and cancels the timer; State holds only
// that captured time, never a host time base. resume() re-bases the guest
// time on the host's monotonic clock so that the guest time continues from
// the captured time (the time the VM spent paused or in transit is not seen
// by the guest's RTC, like the rest of its clocks), then re-arms the timer.
// save() is meaningful only while paused.
//
// Does not implement: daylight-saving (reg B DSE is stored only), the square
// wave output (SQWE stored only), the divider test modes (DV other than 010
// or 11x behave as a stopped clock), and ACPI century/alarm extensions.
//
// Spec: Motorola MC146818A datasheet: "Address Map", "Time, Calendar and
// Alarm Locations", "Update Cycle", "Registers A-D", "Interrupts".
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "devices/bus.h"
#include "devices/device.h"
#include "devices/irq.h"
#include "devices/legacy/rtc_calendar.h"
#include "devices/timer.h"

namespace vmm::dev {

struct CmosRtcState {
  static constexpr size_t kCmosSize = 128;

  std::array<uint8_t, kCmosSize> cmos = power_on_cmos();
  uint8_t index = 0;  // register selected through port 0x70 (7 bits)
  bool nmi_disabled = false;
  int64_t time_sec = 0;  // guest RTC time at pause
  uint32_t time_nsec = 0;

  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("cmos", cmos);
    ar.field("index", index);
    ar.field("nmi_disabled", nmi_disabled);
    ar.field("time_sec", time_sec);
    ar.field("time_nsec", time_nsec);
  }

  // Registers A, B and D as a PC BIOS leaves them: 32.768 kHz divider and a
  // 1024 Hz periodic rate, 24-hour BCD, valid RAM.
  static std::array<uint8_t, kCmosSize> power_on_cmos() {
    std::array<uint8_t, kCmosSize> c{};
    c[0x0a] = 0x26;
    c[0x0b] = 0x02;
    c[0x0d] = 0x80;
    return c;
  }
};

class CmosRtc final : public StatefulDevice<CmosRtcState>, public BusDevice {
 public:
  static constexpr std::string_view kTypeName = "cmos-rtc";
  static constexpr uint64_t kIndexPort = 0x70;
  static constexpr uint64_t kPortCount = 2;  // 0x70 index, 0x71 data

  // The clock is `timers.clock()`; the RTC's timer callback takes the device
  // lock on the timer thread.
  CmosRtc(std::string id, IrqLine& irq, TimerFactory& timers);
  ~CmosRtc() override;

  Result<void> attach(Bus& bus) { return bus.insert(kIndexPort, kPortCount, *this); }

  // For the machine before boot: a CMOS RAM byte such as the memory size at
  // 0x34/0x35 and 0x5b-0x5d. Clock registers are not accepted.
  void set_cmos_byte(uint8_t index, uint8_t value);
  // While paused: moves the captured guest time forward by `ns`, for a
  // restore whose clock policy is "catch up with the host". No-op when the
  // guest has stopped its clock (SET bit, divider reset) or when running.
  void advance_paused_time(int64_t ns);

  // Device
  std::string_view type_name() const override { return kTypeName; }
  StateVersion state_version() const override { return {1, 1}; }
  // A machine reset reaches the chip's RESET pin: PIE, AIE, UIE and SQWE and
  // the reg C flags clear; the time and the RAM survive (battery backed).
  void reset() override;
  Result<void> pause() override;
  Result<void> resume() override;
  // Re-bases the host time on the loaded time; re-arms the timer only if
  // not paused. Raises nothing.
  Result<void> post_load() override;

  // BusDevice: byte-wide ports; a wider access acts as consecutive bytes.
  void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

 protected:
  Result<void> validate(const CmosRtcState& s) const override;

 private:
  struct GuestTime {
    int64_t sec;
    int64_t nsec;  // 0..999'999'999
    auto operator<=>(const GuestTime&) const = default;
  };

  GuestTime now() const;
  void set_time(GuestTime t);
  int64_t to_monotonic(GuestTime t) const;

  bool divider_running() const;
  bool clock_running() const;
  bool periodic_running() const;
  int64_t period_ticks() const;

  uint8_t read_data();
  void write_data(uint8_t value);
  void write_control(uint8_t reg, uint8_t value, GuestTime t);

  // Sets reg C's flags up to `to`.
  void catch_up(GuestTime to);
  // Stores PF/AF/UF, recomputes IRQF and drives the line when it changes.
  void set_flags(uint8_t flags);
  void rearm();
  void on_timer();

  // Register <-> time conversions in the format reg B selects.
  uint8_t time_register(uint8_t reg, GuestTime t) const;
  void latch_time(GuestTime t);
  int64_t registers_time() const;
  std::optional<int64_t> next_alarm(int64_t from_sec) const;
  rtc::RegisterFormat format() const;

  IrqLine& irq_;
  const Clock& clock_;
  std::unique_ptr<Timer> timer_;
  bool paused_ = false;
  // Guest time = base_ + (monotonic - base_mono_). Host-side, never saved.
  GuestTime base_{};
  int64_t base_mono_ = 0;
  // Events up to this guest time are reflected in reg C.
  GuestTime checked_{};
};

}  // namespace vmm::dev
