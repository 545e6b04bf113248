#include "hypervisor/machine/vcpu_control.h"

#include <csignal>

namespace vmm::hv {
namespace {
constexpr int kKickSignal = SIGUSR1;
void on_kick(int) {}  // its only job is to make KVM_RUN return EINTR
}  // namespace

void VcpuControl::install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = on_kick;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must see EINTR
    sigaction(kKickSignal, &sa, nullptr);
  });
}

void VcpuControl::register_thread(size_t i) {
  std::lock_guard lock(mutex_);
  threads_[i].handle = pthread_self();
  threads_[i].registered = true;
  // A request made before this thread existed still applies to it.
  if (request_ != Request::kRun) vcpus_[i]->set_immediate_exit(true);
}

void VcpuControl::kick_all_locked() {
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    if (threads_[i].exited) continue;
    vcpus_[i]->set_immediate_exit(true);
    if (threads_[i].registered) pthread_kill(threads_[i].handle, kKickSignal);
  }
}

void VcpuControl::start_paused() {
  std::lock_guard lock(mutex_);
  if (request_ == Request::kRun) request_ = Request::kPause;
  for (auto* v : vcpus_) v->set_immediate_exit(true);
}

void VcpuControl::pause() {
  std::unique_lock lock(mutex_);
  if (request_ == Request::kStop) return;
  request_ = Request::kPause;
  kick_all_locked();
  changed_.wait(lock, [&] {
    for (auto& t : threads_) {
      // A thread not started yet parks at its first KVM_RUN (register_thread).
      if (t.registered && !t.exited && !t.parked && request_ == Request::kPause) return false;
    }
    return true;
  });
}

void VcpuControl::resume() {
  std::lock_guard lock(mutex_);
  if (request_ != Request::kPause) return;
  request_ = Request::kRun;
  changed_.notify_all();
}

void VcpuControl::stop() {
  std::lock_guard lock(mutex_);
  request_ = Request::kStop;
  kick_all_locked();
  changed_.notify_all();
}

bool VcpuControl::stopping() const {
  std::lock_guard lock(mutex_);
  return request_ == Request::kStop;
}

bool VcpuControl::checkpoint(size_t i) {
  std::unique_lock lock(mutex_);
  while (request_ == Request::kPause) {
    threads_[i].parked = true;
    changed_.notify_all();
    changed_.wait(lock);
  }
  threads_[i].parked = false;
  if (request_ == Request::kStop) return false;
  // Cleared under the lock: a request racing with us sets it again after.
  vcpus_[i]->set_immediate_exit(false);
  return true;
}

void VcpuControl::thread_exited(size_t i) {
  std::lock_guard lock(mutex_);
  threads_[i].exited = true;
  changed_.notify_all();
}

}  // namespace vmm::hv
