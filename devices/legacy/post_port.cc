#include "devices/legacy/post_port.h"

#include "hypervisor/base/log.h"

namespace vmm::dev {

PostPort::PostPort(std::string id) : StatefulDevice(std::move(id)) {}

uint8_t PostPort::last_code() {
  std::lock_guard lock(mutex_);
  return state_.last_code;
}

void PostPort::reset() {
  std::lock_guard lock(mutex_);
  state_ = PostPortState{};
}

Result<void> PostPort::pause() {
  std::lock_guard lock(mutex_);
  return {};
}

Result<void> PostPort::resume() {
  std::lock_guard lock(mutex_);
  return {};
}

Result<void> PostPort::post_load() {
  std::lock_guard lock(mutex_);
  return {};
}

void PostPort::read(uint64_t /*base*/, uint64_t /*offset*/, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (uint8_t& b : data) b = 0xff;
}

void PostPort::write(uint64_t /*base*/, uint64_t /*offset*/, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (data.empty()) return;
  state_.last_code = data[0];
  log::debug("{}: POST code {:#04x}", instance_id(), data[0]);
}

// Every byte is a code some firmware could have written.
Result<void> PostPort::validate(const PostPortState& /*s*/) const { return {}; }

}  // namespace vmm::dev
