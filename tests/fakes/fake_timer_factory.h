// FakeTimerFactory: timers on a FakeClock. advance(ns) walks time forward and
// fires, in deadline order, every timer whose deadline passes, with the clock
// set to exactly that deadline while its callback runs; a callback may re-arm
// its own timer, which fires again in the same advance() if still due. Tests
// are single-threaded, so callbacks run on the caller's thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "devices/timer.h"
#include "tests/fakes/fake_clock.h"

namespace vmm::test {

class FakeTimerFactory : public dev::TimerFactory {
 public:
  explicit FakeTimerFactory(int64_t realtime_ns = FakeClock::kDefaultRealtimeNs,
                            int64_t monotonic_ns = FakeClock::kDefaultMonotonicNs)
      : clock_(realtime_ns, monotonic_ns) {}
  ~FakeTimerFactory() override {
    for (FakeTimer* t : timers_) t->factory_ = nullptr;
  }

  std::unique_ptr<dev::Timer> create(std::function<void()> on_expiry) override {
    auto timer = std::make_unique<FakeTimer>(this, std::move(on_expiry));
    timers_.push_back(timer.get());
    return timer;
  }
  const dev::Clock& clock() const override { return clock_; }
  FakeClock& fake_clock() { return clock_; }

  // Advances time by `ns`, firing due timers on the way.
  void advance(int64_t ns) {
    int64_t target = clock_.monotonic_ns() + ns;
    for (;;) {
      FakeTimer* due = nullptr;
      for (FakeTimer* t : timers_) {
        if (t->armed_ && t->deadline_ <= target && (!due || t->deadline_ < due->deadline_)) due = t;
      }
      if (!due) break;
      if (due->deadline_ > clock_.monotonic_ns()) clock_.advance(due->deadline_ - clock_.monotonic_ns());
      due->armed_ = false;
      ++fired_;
      due->on_expiry_();
    }
    if (target > clock_.monotonic_ns()) clock_.advance(target - clock_.monotonic_ns());
  }

  // How many timers are armed, and the earliest deadline: lets a test check
  // that an idle device keeps no wakeups.
  size_t armed_count() const {
    return static_cast<size_t>(std::count_if(timers_.begin(), timers_.end(), [](FakeTimer* t) { return t->armed_; }));
  }
  std::optional<int64_t> next_deadline() const {
    std::optional<int64_t> best;
    for (FakeTimer* t : timers_) {
      if (t->armed_ && (!best || t->deadline_ < *best)) best = t->deadline_;
    }
    return best;
  }
  uint64_t fired_count() const { return fired_; }

 private:
  class FakeTimer : public dev::Timer {
   public:
    FakeTimer(FakeTimerFactory* factory, std::function<void()> on_expiry)
        : factory_(factory), on_expiry_(std::move(on_expiry)) {}
    ~FakeTimer() override {
      if (factory_) std::erase(factory_->timers_, this);
    }
    void arm(int64_t deadline_monotonic_ns) override {
      armed_ = true;
      deadline_ = deadline_monotonic_ns;
    }
    void cancel() override { armed_ = false; }

    FakeTimerFactory* factory_;
    std::function<void()> on_expiry_;
    bool armed_ = false;
    int64_t deadline_ = 0;
  };

  FakeClock clock_;
  std::vector<FakeTimer*> timers_;
  uint64_t fired_ = 0;
};

}  // namespace vmm::test
