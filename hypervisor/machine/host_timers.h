// HostTimers: the machine's Clock and TimerFactory. One thread sleeps until
// the earliest armed deadline and runs that timer's callback; devices only
// arm a timer when an interrupt is enabled, so an idle guest costs no wakeups.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "devices/timer.h"

namespace vmm::hv {

class HostClock : public dev::Clock {
 public:
  int64_t monotonic_ns() const override;
  int64_t realtime_ns() const override;
};

class HostTimers : public dev::TimerFactory {
 public:
  HostTimers();
  ~HostTimers() override;

  std::unique_ptr<dev::Timer> create(std::function<void()> on_expiry) override;
  const dev::Clock& clock() const override { return clock_; }

 private:
  class HostTimer;
  void run();
  void arm(uint64_t id, int64_t deadline);
  void cancel(uint64_t id);
  void forget(uint64_t id);

  HostClock clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  struct Entry {
    std::function<void()> callback;
    int64_t deadline = -1;  // -1: not armed
  };
  std::map<uint64_t, Entry> timers_;
  uint64_t next_id_ = 1;
  uint64_t running_ = 0;  // id whose callback runs now (outside the lock)
  std::condition_variable done_running_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vmm::hv
