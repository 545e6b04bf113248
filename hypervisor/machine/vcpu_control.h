// VcpuControl: the pause/resume/stop handshake between the machine and its
// vCPU threads. A request sets immediate_exit on every vCPU and kicks its
// thread with a signal; whether the thread was inside KVM_RUN or about to
// enter it, its next KVM_RUN returns EINTR after completing pending I/O, so
// the vCPU state is consistent when the thread parks. Every request is
// answered: pause() returns only once every vCPU thread has parked.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <vector>

#include "hypervisor/kvm/kvm.h"

namespace vmm::hv {

class VcpuControl {
 public:
  // Installs the (empty) kick signal handler once per process.
  static void install_kick_handler();

  explicit VcpuControl(std::vector<Vcpu*> vcpus) : vcpus_(std::move(vcpus)), threads_(vcpus_.size()) {}

  // Called by vCPU thread i before its first KVM_RUN.
  void register_thread(size_t i);

  // Makes vCPU threads park before their first guest instruction (a restored
  // guest that stays paused). Call before the threads start.
  void start_paused();
  // Blocks until every running vCPU thread has parked.
  void pause();
  void resume();
  // Makes every vCPU thread leave its loop. Idempotent; callable from a vCPU
  // thread (which then finishes its own loop at its next checkpoint).
  void stop();
  bool stopping() const;

  // Called by vCPU thread i after KVM_RUN returned EINTR: parks while paused.
  // Returns false when the thread must exit.
  bool checkpoint(size_t i);
  // Called by vCPU thread i when it leaves its loop for any reason.
  void thread_exited(size_t i);

 private:
  enum class Request { kRun, kPause, kStop };
  void kick_all_locked();

  std::vector<Vcpu*> vcpus_;
  struct ThreadSlot {
    pthread_t handle{};
    bool registered = false;
    bool parked = false;
    bool exited = false;
  };
  std::vector<ThreadSlot> threads_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Request request_ = Request::kRun;
};

}  // namespace vmm::hv
