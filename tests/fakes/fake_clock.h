// FakeClock: a Clock whose time moves only when a test says so. Both clocks
// advance together; set_realtime() models a wall-clock step (NTP, the user)
// that the monotonic clock does not see.
#pragma once

#include <cstdint>

#include "devices/timer.h"

namespace vmm::test {

class FakeClock : public dev::Clock {
 public:
  // 2024-03-01 12:34:56.5 UTC and an arbitrary boot-relative monotonic time:
  // fixed so that anything derived from them (goldens) is deterministic.
  static constexpr int64_t kDefaultRealtimeNs = 1'709'296'496'500'000'000;
  static constexpr int64_t kDefaultMonotonicNs = 1'000'000'000'000;

  explicit FakeClock(int64_t realtime_ns = kDefaultRealtimeNs, int64_t monotonic_ns = kDefaultMonotonicNs)
      : realtime_ns_(realtime_ns), monotonic_ns_(monotonic_ns) {}

  int64_t monotonic_ns() const override { return monotonic_ns_; }
  int64_t realtime_ns() const override { return realtime_ns_; }

  // Moves both clocks forward. Does not fire timers: use
  // FakeTimerFactory::advance() when timers are involved.
  void advance(int64_t ns) {
    monotonic_ns_ += ns;
    realtime_ns_ += ns;
  }
  void set_realtime(int64_t ns) { realtime_ns_ = ns; }

 private:
  int64_t realtime_ns_;
  int64_t monotonic_ns_;
};

}  // namespace vmm::test
