#include "hypervisor/machine/host_timers.h"

#include <time.h>

#include <chrono>

namespace vmm::hv {
namespace {
int64_t now(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace

int64_t HostClock::monotonic_ns() const { return now(CLOCK_MONOTONIC); }
int64_t HostClock::realtime_ns() const { return now(CLOCK_REALTIME); }

class HostTimers::HostTimer : public dev::Timer {
 public:
  HostTimer(HostTimers& owner, uint64_t id) : owner_(owner), id_(id) {}
  ~HostTimer() override { owner_.forget(id_); }
  void arm(int64_t deadline) override { owner_.arm(id_, deadline); }
  void cancel() override { owner_.cancel(id_); }

 private:
  HostTimers& owner_;
  uint64_t id_;
};

HostTimers::HostTimers() : thread_([this] { run(); }) {}

HostTimers::~HostTimers() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::unique_ptr<dev::Timer> HostTimers::create(std::function<void()> on_expiry) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  timers_[id].callback = std::move(on_expiry);
  return std::make_unique<HostTimer>(*this, id);
}

void HostTimers::arm(uint64_t id, int64_t deadline) {
  {
    std::lock_guard lock(mutex_);
    timers_[id].deadline = deadline;
  }
  wake_.notify_all();
}

void HostTimers::cancel(uint64_t id) {
  std::lock_guard lock(mutex_);
  timers_[id].deadline = -1;
}

void HostTimers::forget(uint64_t id) {
  std::unique_lock lock(mutex_);
  // A callback may be running for this timer right now; its owner is being
  // destroyed, so wait until it returns.
  done_running_.wait(lock, [&] { return running_ != id; });
  timers_.erase(id);
}

void HostTimers::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    uint64_t due_id = 0;
    int64_t due = -1;
    for (auto& [id, e] : timers_) {
      if (e.deadline >= 0 && (due < 0 || e.deadline < due)) {
        due = e.deadline;
        due_id = id;
      }
    }
    if (due < 0) {
      wake_.wait(lock);
      continue;
    }
    int64_t now_ns = clock_.monotonic_ns();
    if (due > now_ns) {
      wake_.wait_for(lock, std::chrono::nanoseconds(due - now_ns));
      continue;
    }
    Entry& e = timers_[due_id];
    e.deadline = -1;
    std::function<void()> callback = e.callback;
    running_ = due_id;
    lock.unlock();
    callback();  // may re-arm this or another timer
    lock.lock();
    running_ = 0;
    done_running_.notify_all();
  }
}

}  // namespace vmm::hv
