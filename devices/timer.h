// Clock and Timer: how a device sees time. The machine backs them with the
// host clocks and its event loop; unit tests use a fake clock they advance by
// hand, so time-driven behaviour (RTC update cycle, alarms) is tested exactly.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace vmm::dev {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds (CLOCK_MONOTONIC in production).
  virtual int64_t monotonic_ns() const = 0;
  // Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME).
  virtual int64_t realtime_ns() const = 0;
};

// A one-shot timer. The callback runs on a host thread (never a vCPU's) and
// must take the device lock itself. arm() replaces any pending deadline.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void arm(int64_t deadline_monotonic_ns) = 0;
  virtual void cancel() = 0;
};

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  virtual std::unique_ptr<Timer> create(std::function<void()> on_expiry) = 0;
  virtual const Clock& clock() const = 0;
};

}  // namespace vmm::dev
