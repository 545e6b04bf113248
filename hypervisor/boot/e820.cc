#include "hypervisor/boot/e820.h"

#include <algorithm>

#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {

std::vector<E820Entry> e820_map(const std::vector<RegionSpec>& ram) {
  std::vector<E820Entry> map;
  bool legacy_area = false;
  for (const auto& r : ram) {
    if (r.size == 0) continue;
    uint64_t end = r.gpa + r.size;
    // Cut [kEbdaStart, kHighMemStart) out of the region; what remains on
    // either side is RAM.
    if (r.gpa < kHighMemStart && end > kEbdaStart) {
      legacy_area = true;
      if (r.gpa < kEbdaStart) map.push_back(E820Entry{r.gpa, kEbdaStart - r.gpa, E820Type::kRam});
      if (end > kHighMemStart) map.push_back(E820Entry{kHighMemStart, end - kHighMemStart, E820Type::kRam});
    } else {
      map.push_back(E820Entry{r.gpa, r.size, E820Type::kRam});
    }
  }
  // Reserved whether or not RAM backs all of it: a kernel must not treat the
  // legacy area as usable (Linux reserves 0xa0000-1 MiB itself anyway, in
  // trim_bios_range(), arch/x86/kernel/setup.c).
  if (legacy_area) map.push_back(E820Entry{kEbdaStart, kHighMemStart - kEbdaStart, E820Type::kReserved});
  std::sort(map.begin(), map.end(), [](const auto& a, const auto& b) { return a.addr < b.addr; });
  return map;
}

}  // namespace vmm::hv::boot
