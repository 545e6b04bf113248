#include "hypervisor/boot/x86_layout.h"

#include <fmt/format.h>

#include <algorithm>

namespace vmm::hv::boot {

Result<void> validate_memory_size(uint64_t mem_bytes) {
  if (mem_bytes % kPageSize != 0) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("guest memory: {} bytes is not a multiple of 4 KiB", mem_bytes));
  }
  if (mem_bytes < kMinMemBytes) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("guest memory: {} KiB is too small (at least {} MiB)", mem_bytes / kKiB,
                                   kMinMemBytes / kMiB));
  }
  if (mem_bytes > kMaxMemBytes) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("guest memory: {} GiB is too large (at most {} GiB)", mem_bytes / kGiB,
                                   kMaxMemBytes / kGiB));
  }
  return {};
}

std::vector<RegionSpec> ram_layout(uint64_t mem_bytes) {
  mem_bytes &= ~(kPageSize - 1);
  std::vector<RegionSpec> layout;
  if (mem_bytes == 0) return layout;
  uint64_t low = std::min(mem_bytes, kPciHoleStart);
  layout.push_back(RegionSpec{0, low});
  if (mem_bytes > low) layout.push_back(RegionSpec{kHighRamStart, mem_bytes - low});
  return layout;
}

std::vector<RegionSpec> ram_layout_of(const GuestMemory& mem) {
  std::vector<RegionSpec> layout;
  for (const auto& r : mem.regions()) layout.push_back(RegionSpec{r.gpa, r.size});
  std::sort(layout.begin(), layout.end(), [](const auto& a, const auto& b) { return a.gpa < b.gpa; });
  return layout;
}

uint64_t low_ram_end(const std::vector<RegionSpec>& ram) {
  for (const auto& r : ram) {
    if (r.gpa <= kHighMemStart && kHighMemStart - r.gpa < r.size) return r.gpa + r.size;
  }
  return 0;
}

}  // namespace vmm::hv::boot
