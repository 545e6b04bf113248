#include "devices/legacy/debug_exit.h"

namespace vmm::dev {

DebugExit::DebugExit(std::string id, std::function<void(int status)> on_exit)
    : StatefulDevice(std::move(id)), on_exit_(std::move(on_exit)) {}

// Nothing host-side and nothing guest-visible: the lifecycle calls only
// synchronise with a concurrent access.
void DebugExit::reset() { std::lock_guard lock(mutex_); }

Result<void> DebugExit::pause() {
  std::lock_guard lock(mutex_);
  return {};
}

Result<void> DebugExit::resume() {
  std::lock_guard lock(mutex_);
  return {};
}

Result<void> DebugExit::post_load() {
  std::lock_guard lock(mutex_);
  return {};
}

void DebugExit::read(uint64_t /*base*/, uint64_t /*offset*/, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t& b : data) b = 0;
}

void DebugExit::write(uint64_t /*base*/, uint64_t /*offset*/, std::span<const uint8_t> data) {
  uint64_t value = 0;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size() && i < 8; ++i) value |= uint64_t{data[i]} << (8 * i);
  }
  // QEMU passes (val << 1) | 1 to exit(), whose int argument keeps 32 bits.
  if (on_exit_) on_exit_(static_cast<int>(static_cast<uint32_t>((value << 1) | 1)));
}

Result<void> DebugExit::validate(const DebugExitState& /*s*/) const { return {}; }

}  // namespace vmm::dev
