#include "devices/bus.h"

#include <fmt/format.h>

#include <cstring>
#include <limits>

namespace vmm::dev {

Result<void> Bus::insert(uint64_t base, uint64_t length, BusDevice& device) {
  if (length == 0) return Error::make(Errc::kInvalidArgument, "bus range has zero length");
  uint64_t max = kind_ == BusKind::kPio ? 0x10000 : 0;  // 0: the whole 64-bit space
  if (max != 0 ? (base >= max || length > max - base) : (length - 1 > std::numeric_limits<uint64_t>::max() - base)) {
    return Error::make(Errc::kOutOfRange,
                       fmt::format("bus range {:#x}+{:#x} runs past the end of the address space", base, length));
  }
  uint64_t last = base + (length - 1);
  auto next = ranges_.lower_bound(base);
  if (next != ranges_.end() && next->first <= last) {
    return Error::make(Errc::kOverlap, fmt::format("bus range at {:#x} overlaps the one at {:#x}", base, next->first));
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + (prev->second.length - 1) >= base) {
      return Error::make(Errc::kOverlap,
                         fmt::format("bus range at {:#x} overlaps the one at {:#x}", base, prev->first));
    }
  }
  ranges_.emplace(base, Range{length, &device});
  return {};
}

Result<void> Bus::remove(uint64_t base) {
  if (ranges_.erase(base) == 0) return Error::make(Errc::kInvalidArgument, fmt::format("no bus range at {:#x}", base));
  return {};
}

const std::pair<const uint64_t, Bus::Range>* Bus::find(uint64_t addr, uint64_t size) const {
  auto it = ranges_.upper_bound(addr);
  if (it == ranges_.begin()) return nullptr;
  --it;
  uint64_t offset = addr - it->first;
  if (offset >= it->second.length || size > it->second.length - offset) return nullptr;
  return &*it;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  const auto* hit = find(addr, data.size());
  if (!hit) {
    std::memset(data.data(), kind_ == BusKind::kPio ? 0xff : 0x00, data.size());
    return false;
  }
  hit->second.device->read(hit->first, addr - hit->first, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  const auto* hit = find(addr, data.size());
  if (!hit) return false;
  hit->second.device->write(hit->first, addr - hit->first, data);
  return true;
}

}  // namespace vmm::dev
