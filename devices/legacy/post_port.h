// Port 0x80 POST-code sink (snapshot type "post-port"): firmware and some
// kernels write progress codes here (and Linux uses it as an I/O delay).
//
// State: the last code written.
//
// Implements: writes latch the byte (logged at debug level); reads return
// 0xff, as on a PC with no POST card and as QEMU's ioport80_read does
// (hw/i386/pc.c returns all ones). Only byte accesses reach the device: the
// range is one byte long, so a wider access is unclaimed and the bus answers
// it with all-ones as well.
//
// Does not implement: displaying the code anywhere but the debug log.
//
// Spec: none (a de-facto PC convention); behaviour matched to QEMU.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "devices/bus.h"
#include "devices/device.h"

namespace vmm::dev {

struct PostPortState {
  uint8_t last_code = 0;

  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("last_code", last_code);
  }
};

class PostPort final : public StatefulDevice<PostPortState>, public BusDevice {
 public:
  static constexpr std::string_view kTypeName = "post-port";
  static constexpr uint64_t kPort = 0x80;

  explicit PostPort(std::string id);

  Result<void> attach(Bus& bus) { return bus.insert(kPort, 1, *this); }
  uint8_t last_code();

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
  Result<void> validate(const PostPortState& s) const override;
};

}  // namespace vmm::dev
