// Device: the contract every emulated device keeps (design §4). All of
// reset/pause/resume/save/load/post_load are mandatory: a device that cannot
// be snapshotted must say so rather than silently succeed.
//
// A device's guest-visible state is a plain `State` struct with one
// `template <class Ar> void visit(Ar&, uint32_t version)`; StatefulDevice turns
// that into save/load/schema. Host-side things (fds, threads, timers,
// callbacks) never live in State; post_load re-derives them.
//
// Locking: a device guards its state with mutex(). Bus callbacks come from
// vCPU threads and host callbacks (console input, timers) from other threads,
// so every entry point takes the lock itself.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hypervisor/base/result.h"
#include "snapshot/archive.h"

namespace vmm::dev {

struct StateVersion {
  uint32_t current;  // what save() writes
  uint32_t minimum;  // the oldest version load() accepts
};

class Device {
 public:
  explicit Device(std::string instance_id) : instance_id_(std::move(instance_id)) {}
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // Stable snapshot type ("uart-16550") and per-machine instance ("uart0").
  virtual std::string_view type_name() const = 0;
  const std::string& instance_id() const { return instance_id_; }
  virtual StateVersion state_version() const = 0;

  // Power-on state, as after a machine reset.
  virtual void reset() = 0;
  // Stops host-side activity (timers, backends) so the state holds still;
  // idempotent. resume() restarts it.
  virtual Result<void> pause() = 0;
  virtual Result<void> resume() = 0;
  // Serialises the state at the current version; only while paused.
  virtual Result<std::vector<uint8_t>> save() = 0;
  // Decodes into a temporary, validates, then commits; on error the device
  // is unchanged.
  virtual Result<void> load(std::span<const uint8_t> payload, uint32_t version) = 0;
  // Re-derives host-side things from the loaded state; raises no interrupts.
  virtual Result<void> post_load() = 0;
  // One line per field; compared against golden files.
  virtual std::string schema() = 0;

  std::mutex& mutex() { return mutex_; }

 protected:
  std::mutex mutex_;

 private:
  std::string instance_id_;
};

// Implements save/load/schema from State::visit. The subclass supplies
// validate(), which checks every index, length and pointer of a decoded
// candidate against the device's limits before it is committed.
template <class StateT>
class StatefulDevice : public Device {
 public:
  using Device::Device;

  Result<std::vector<uint8_t>> save() override {
    std::lock_guard lock(mutex_);
    uint32_t v = state_version().current;
    snap::Saver saver(v);
    state_.visit(saver, v);
    return saver.take();
  }

  Result<void> load(std::span<const uint8_t> payload, uint32_t version) override {
    StateVersion sv = state_version();
    if (version < sv.minimum || version > sv.current) {
      return Error::make(Errc::kVersionUnsupported,
                         std::string(type_name()) + " state version " + std::to_string(version) +
                             " is outside the supported range " + std::to_string(sv.minimum) + ".." +
                             std::to_string(sv.current));
    }
    StateT candidate{};
    snap::Loader loader(payload, version);
    candidate.visit(loader, version);
    VMM_TRY(loader.finish());
    VMM_TRY(validate(candidate));
    std::lock_guard lock(mutex_);
    state_ = candidate;
    return {};
  }

  std::string schema() override {
    uint32_t v = state_version().current;
    snap::SchemaDumper dumper(v);
    StateT probe{};
    probe.visit(dumper, v);
    return dumper.text();
  }

  // Test access: the conformance suite mutates and compares states.
  const StateT& state() const { return state_; }

 protected:
  virtual Result<void> validate(const StateT& candidate) const = 0;
  StateT state_{};
};

}  // namespace vmm::dev
