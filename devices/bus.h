// PioBus and MmioBus: map non-overlapping address ranges to devices (design
// §4). An access must fit inside one range; unclaimed PIO reads return
// all-ones and MMIO reads zero, as on a PC. The map only changes while vCPUs
// are paused, so dispatch takes no lock of its own (devices lock themselves).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>

#include "hypervisor/base/result.h"

namespace vmm::dev {

// A device's view of one access: `base` is the start of the range that
// matched (a device that registers several ranges tells them apart by it) and
// `offset` the distance from it.
class BusDevice {
 public:
  virtual ~BusDevice() = default;
  virtual void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) = 0;
};

enum class BusKind { kPio, kMmio };

class Bus {
 public:
  explicit Bus(BusKind kind) : kind_(kind) {}

  // Rejects zero length, a range that wraps past the address space, and any
  // overlap with a registered range.
  Result<void> insert(uint64_t base, uint64_t length, BusDevice& device);
  Result<void> remove(uint64_t base);

  // Returns false when no range claims the whole access (the data is then
  // filled with the unclaimed pattern).
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

 private:
  struct Range {
    uint64_t length;
    BusDevice* device;
  };
  // The range that contains [addr, addr+size), or nullptr.
  const std::pair<const uint64_t, Range>* find(uint64_t addr, uint64_t size) const;

  BusKind kind_;
  std::map<uint64_t, Range> ranges_;
};

class PioBus : public Bus {
 public:
  PioBus() : Bus(BusKind::kPio) {}
};
class MmioBus : public Bus {
 public:
  MmioBus() : Bus(BusKind::kMmio) {}
};

}  // namespace vmm::dev
