// GuestMemory: the guest's RAM (design §4). One memfd holds every region, so
// the same pages can later be mapped into a snapshot or shared with a
// migration sender. All VMM accesses are bounds-checked, may span regions,
// and VMM writes are recorded in a DirtyBitmap. Only RAM lives here: device
// DMA can never reach a device register through it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "hypervisor/base/mapping.h"
#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"
#include "hypervisor/memory/dirty_bitmap.h"

namespace vmm::hv {

constexpr uint64_t kPageSize = 4096;

// Types that may be copied to and from guest memory as raw bytes: no
// pointers, no padding (which would leak host stack bytes into the guest).
template <class T>
concept PlainData = std::is_trivially_copyable_v<T> && std::has_unique_object_representations_v<T>;

struct RegionSpec {
  uint64_t gpa;
  uint64_t size;  // multiple of the page size
};

struct MemoryRegion {
  uint64_t gpa;
  uint64_t size;
  uint64_t fd_offset;  // where the region starts in the memfd
  uint8_t* host;       // where it is mapped in this process
  uint64_t first_page; // index of its first page in the dirty bitmap
};

class GuestMemory {
 public:
  // Creates a memfd of the summed size and maps each region. Regions must be
  // page aligned, non-empty and non-overlapping.
  static Result<GuestMemory> create(const std::vector<RegionSpec>& layout);
  // Adopts one existing mapping per region (same order as `layout`), such as
  // MAP_PRIVATE views of a snapshot file for a lazy restore. Such memory has
  // no memfd (memfd() is -1).
  static Result<GuestMemory> adopt(const std::vector<RegionSpec>& layout, std::vector<Mapping> mappings);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  // Whole range or an error; nothing partial.
  Result<void> read(uint64_t gpa, std::span<uint8_t> out) const;
  Result<void> write(uint64_t gpa, std::span<const uint8_t> in);

  template <PlainData T>
  Result<T> read_obj(uint64_t gpa) const {
    T value;
    VMM_TRY(read(gpa, std::span(reinterpret_cast<uint8_t*>(&value), sizeof value)));
    return value;
  }
  template <PlainData T>
  Result<void> write_obj(uint64_t gpa, const T& value) {
    return write(gpa, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof value));
  }

  // A host view of [gpa, gpa+len) when it lies inside one region, for
  // zero-copy I/O. `for_write` marks the pages dirty.
  Result<std::span<uint8_t>> host_span(uint64_t gpa, uint64_t len, bool for_write);

  bool contains(uint64_t gpa, uint64_t len) const;
  const std::vector<MemoryRegion>& regions() const { return regions_; }
  uint64_t total_size() const { return total_size_; }
  int memfd() const { return memfd_.get(); }
  DirtyBitmap& vmm_dirty() { return *dirty_; }

 private:
  GuestMemory() = default;
  static Result<void> check_layout(const std::vector<RegionSpec>& layout);
  const MemoryRegion* region_for(uint64_t gpa) const;
  template <class Fn>
  Result<void> for_each_chunk(uint64_t gpa, uint64_t len, Fn&& fn) const;

  UniqueFd memfd_;
  std::vector<Mapping> mappings_;
  std::vector<MemoryRegion> regions_;
  uint64_t total_size_ = 0;
  std::unique_ptr<DirtyBitmap> dirty_;
};

}  // namespace vmm::hv
