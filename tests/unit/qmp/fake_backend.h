// A QmpBackend that records calls and emits the events a machine would.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hypervisor/qmp/qmp_backend.h"
#include "hypervisor/qmp/qmp_server.h"

namespace vmm::qmp::test {

class FakeBackend : public QmpBackend {
 public:
  RunState run_state() override {
    std::lock_guard lock(mutex_);
    return state_;
  }
  Result<void> stop() override {
    record("stop");
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    set_state(RunState::kPaused);
    if (QmpServer* s = server_.load()) s->emit("STOP");
    return {};
  }
  Result<void> cont() override {
    record("cont");
    if (fail_cont_) return Error::make(Errc::kInvalidArgument, "Resetting the Virtual Machine is required");
    set_state(RunState::kRunning);
    if (QmpServer* s = server_.load()) s->emit("RESUME");
    return {};
  }
  Result<void> system_reset() override {
    record("system_reset");
    if (QmpServer* s = server_.load()) s->emit("RESET", {{"guest", false}, {"reason", "host-qmp-system-reset"}});
    return {};
  }
  void quit() override {
    record("quit");
    if (QmpServer* s = server_.load()) s->emit("SHUTDOWN", {{"guest", false}, {"reason", "host-qmp-quit"}});
  }
  Result<void> start_migration(const MigrationRequest& request) override {
    record("migrate " + request.uri);
    std::lock_guard lock(mutex_);
    last_request_ = request;
    if (request.transport != Transport::kFile) {
      return Error::make(Errc::kUnsupported, "vmm migrates only to file: URIs");
    }
    info_.status = MigrationStatus::kSetup;
    return {};
  }
  MigrationInfo query_migrate() override {
    std::lock_guard lock(mutex_);
    return info_;
  }

  void attach(QmpServer* server) { server_ = server; }
  void set_state(RunState state) {
    std::lock_guard lock(mutex_);
    state_ = state;
  }
  void set_migration(MigrationInfo info) {
    std::lock_guard lock(mutex_);
    info_ = std::move(info);
  }
  void set_stop_delay(std::chrono::milliseconds delay) { delay_ = delay; }
  void fail_cont() { fail_cont_ = true; }
  std::vector<std::string> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  MigrationRequest last_request() {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  void record(std::string call) {
    std::lock_guard lock(mutex_);
    calls_.push_back(std::move(call));
  }

  std::mutex mutex_;
  RunState state_ = RunState::kRunning;
  MigrationInfo info_;
  MigrationRequest last_request_{};
  std::vector<std::string> calls_;
  std::atomic<QmpServer*> server_{nullptr};
  std::chrono::milliseconds delay_{0};
  bool fail_cont_ = false;
};

}  // namespace vmm::qmp::test
