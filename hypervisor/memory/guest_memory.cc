#include "hypervisor/memory/guest_memory.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>

namespace vmm::hv {

Result<void> GuestMemory::check_layout(const std::vector<RegionSpec>& layout) {
  if (layout.empty()) return Error::make(Errc::kInvalidArgument, "guest memory has no regions");
  std::vector<RegionSpec> sorted = layout;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.gpa < b.gpa; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& r = sorted[i];
    if (r.size == 0 || r.gpa % kPageSize || r.size % kPageSize) {
      return Error::make(Errc::kInvalidArgument,
                         fmt::format("memory region {:#x}+{:#x} is empty or not page aligned", r.gpa, r.size));
    }
    if (r.gpa + r.size < r.gpa || (i > 0 && sorted[i - 1].gpa + sorted[i - 1].size > r.gpa)) {
      return Error::make(Errc::kOverlap, fmt::format("memory region {:#x}+{:#x} overlaps or wraps", r.gpa, r.size));
    }
  }
  return {};
}

Result<GuestMemory> GuestMemory::adopt(const std::vector<RegionSpec>& layout, std::vector<Mapping> mappings) {
  VMM_TRY(check_layout(layout));
  if (mappings.size() != layout.size()) {
    return Error::make(Errc::kInvalidArgument, "guest memory: one mapping per region is needed");
  }
  GuestMemory mem;
  uint64_t offset = 0;
  for (size_t i = 0; i < layout.size(); ++i) {
    if (mappings[i].size() < layout[i].size) {
      return Error::make(Errc::kInvalidArgument, fmt::format("guest memory: mapping {} is too small", i));
    }
    mem.regions_.push_back(MemoryRegion{layout[i].gpa, layout[i].size, offset, mappings[i].data(), offset / kPageSize});
    mem.mappings_.push_back(std::move(mappings[i]));
    offset += layout[i].size;
  }
  mem.total_size_ = offset;
  mem.dirty_ = std::make_unique<DirtyBitmap>(offset / kPageSize);
  return mem;
}

Result<GuestMemory> GuestMemory::create(const std::vector<RegionSpec>& layout) {
  VMM_TRY(check_layout(layout));
  std::vector<RegionSpec> sorted = layout;
  std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.gpa < b.gpa; });
  uint64_t total = 0;
  for (const auto& r : sorted) total += r.size;

  GuestMemory mem;
  int fd = ::memfd_create("vmm-guest-ram", MFD_CLOEXEC);
  if (fd < 0) return Error::sys(errno, "memfd_create");
  mem.memfd_.reset(fd);
  if (::ftruncate(fd, static_cast<off_t>(total)) != 0) {
    return Error::sys(errno, fmt::format("size guest memory to {} MiB", total >> 20));
  }
  uint64_t offset = 0;
  for (const auto& r : sorted) {
    // MAP_NORESERVE: guest RAM is touched lazily, like any VMM's.
    auto mapping = VMM_TRY(Mapping::map(r.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
                                        static_cast<off_t>(offset)));
    mem.regions_.push_back(MemoryRegion{r.gpa, r.size, offset, mapping.data(), offset / kPageSize});
    mem.mappings_.push_back(std::move(mapping));
    offset += r.size;
  }
  mem.total_size_ = total;
  mem.dirty_ = std::make_unique<DirtyBitmap>(total / kPageSize);
  return mem;
}

const MemoryRegion* GuestMemory::region_for(uint64_t gpa) const {
  for (const auto& r : regions_) {
    if (gpa >= r.gpa && gpa - r.gpa < r.size) return &r;
  }
  return nullptr;
}

bool GuestMemory::contains(uint64_t gpa, uint64_t len) const {
  return for_each_chunk(gpa, len, [](const MemoryRegion&, uint64_t, uint64_t, uint64_t) {}).ok();
}

// Calls fn(region, offset_in_region, length, offset_in_request) for each
// piece of [gpa, gpa+len); fails before calling anything if a byte is not RAM.
template <class Fn>
Result<void> GuestMemory::for_each_chunk(uint64_t gpa, uint64_t len, Fn&& fn) const {
  if (len == 0) return {};
  if (gpa + len < gpa) return Error::make(Errc::kOutOfRange, fmt::format("guest range {:#x}+{:#x} wraps", gpa, len));
  struct Piece {
    const MemoryRegion* region;
    uint64_t offset, length, done;
  };
  Piece pieces[8];
  size_t n = 0;
  uint64_t done = 0;
  while (done < len) {
    const MemoryRegion* r = region_for(gpa + done);
    if (!r || n == std::size(pieces)) {
      return Error::make(Errc::kOutOfRange, fmt::format("guest range {:#x}+{:#x} is not RAM", gpa, len));
    }
    uint64_t offset = gpa + done - r->gpa;
    uint64_t chunk = std::min(len - done, r->size - offset);
    pieces[n++] = Piece{r, offset, chunk, done};
    done += chunk;
  }
  for (size_t i = 0; i < n; ++i) fn(*pieces[i].region, pieces[i].offset, pieces[i].length, pieces[i].done);
  return {};
}

Result<void> GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
  return for_each_chunk(gpa, out.size(), [&](const MemoryRegion& r, uint64_t off, uint64_t n, uint64_t done) {
    std::memcpy(out.data() + done, r.host + off, n);
  });
}

Result<void> GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) {
  return for_each_chunk(gpa, in.size(), [&](const MemoryRegion& r, uint64_t off, uint64_t n, uint64_t done) {
    std::memcpy(r.host + off, in.data() + done, n);
    dirty_->mark(r.first_page + off / kPageSize, (off + n - 1) / kPageSize - off / kPageSize + 1);
  });
}

Result<std::span<uint8_t>> GuestMemory::host_span(uint64_t gpa, uint64_t len, bool for_write) {
  const MemoryRegion* r = region_for(gpa);
  if (!r || len > r->size - (gpa - r->gpa)) {
    return Error::make(Errc::kOutOfRange, fmt::format("guest range {:#x}+{:#x} is not in one RAM region", gpa, len));
  }
  uint64_t off = gpa - r->gpa;
  if (for_write && len > 0) dirty_->mark(r->first_page + off / kPageSize, (off + len - 1) / kPageSize - off / kPageSize + 1);
  return std::span<uint8_t>(r->host + off, len);
}

}  // namespace vmm::hv
