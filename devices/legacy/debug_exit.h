// QEMU-compatible isa-debug-exit (snapshot type "debug-exit"): one 4-byte
// port range, at 0xf4 on this machine (QEMU: -device
// isa-debug-exit,iobase=0xf4,iosize=0x04).
//
// State: none. The device has nothing the guest can observe, so its state is
// an empty version-1 record (it still takes part in snapshots, so a restore
// can tell it was present).
//
// Implements: a write of value v (1, 2 or 4 bytes, little-endian) anywhere
// in the range calls `on_exit((v << 1) | 1)`, QEMU's exit status, so a test
// guest ends the VM the same way under both. Reads return 0, as QEMU's
// debug_exit_read does (hw/misc/debugexit.c).
//
// Does not implement: anything else; there is nothing else.
//
// Spec: QEMU hw/misc/debugexit.c (debug_exit_write: exit((val << 1) | 1);
// valid access sizes 1-4, little-endian).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "devices/bus.h"
#include "devices/device.h"

namespace vmm::dev {

struct DebugExitState {
  template <class Ar>
  void visit(Ar& /*ar*/, uint32_t /*version*/) {}
};

class DebugExit final : public StatefulDevice<DebugExitState>, public BusDevice {
 public:
  static constexpr std::string_view kTypeName = "debug-exit";
  static constexpr uint64_t kDefaultPort = 0xf4;
  static constexpr uint64_t kPortCount = 4;

  // `on_exit` gets the status as an int (the OS keeps its low 8 bits); it is
  // called on the vCPU thread without the device lock held.
  DebugExit(std::string id, std::function<void(int status)> on_exit);

  Result<void> attach(Bus& bus, uint64_t base = kDefaultPort) { return bus.insert(base, kPortCount, *this); }

  // Device
  std::string_view type_name() const override { return kTypeName; }
  StateVersion state_version() const override { return {1, 1}; }
  void reset() override;
  Result<void> pause() override;
  Result<void> resume() override;
  Result<void> post_load() override;

  // BusDevice
  void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

 protected:
  Result<void> validate(const DebugExitState& s) const override;

 private:
  std::function<void(int)> on_exit_;
};

}  // namespace vmm::dev
