// SnapshotReader: reads a format-1 snapshot file (docs/snapshot-format.md),
// which is hostile input. open() checks the header, the table checksums and
// every entry's counts, lengths and offsets against the limits and the file
// size before anything is allocated from them; payloads and memory are
// checked against their checksums when they are read. Every error starts
// with "snapshot FILE:" and names the section or region and the field.
//
// Lazy restore (map_region_private) does not read the pages, so it does not
// verify them; read_region (eager restore) and verify_region do.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hypervisor/base/mapping.h"
#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"
#include "snapshot/format_codec.h"
#include "snapshot/snapshot_format.h"

namespace vmm::snap {

struct SectionKey {
  std::string kind;
  std::string instance;
  bool mandatory = false;
};

// A section's payload, its checksum verified.
struct SectionView {
  std::string kind;
  std::string instance;
  uint32_t version = 0;
  uint32_t min_version = 0;
  uint32_t flags = 0;
  std::vector<uint8_t> payload;

  // QEMU's rule, for a loader that reads state versions [oldest, newest]:
  // accepted when oldest <= version <= newest, or when version is newer but
  // the writer declared min_version <= newest (it then decodes as `newest`).
  // Otherwise Errc::kVersionUnsupported naming the section.
  Result<void> check_version(uint32_t oldest, uint32_t newest) const;
};

class SnapshotReader {
 public:
  static Result<SnapshotReader> open(const std::string& path, const Limits& limits = {});

  SnapshotReader(SnapshotReader&&) = default;
  SnapshotReader& operator=(SnapshotReader&&) = default;

  const std::string& path() const { return path_; }
  const Header& header() const { return header_; }
  const codec::TableIndex& index() const { return index_; }
  const std::vector<SectionInfo>& sections() const { return sections_; }
  const std::vector<RegionInfo>& regions() const { return regions_; }

  bool has(std::string_view kind, std::string_view instance) const;
  // Reads and verifies the section's payload and marks it consumed; taking a
  // missing or already taken section is an error.
  Result<SectionView> take(std::string_view kind, std::string_view instance);
  // Checks section i's payload checksum without consuming it (inspect).
  Result<void> verify_section(size_t i) const;
  // Sections not yet taken: restore fails on a mandatory one and reports the rest.
  std::vector<SectionKey> unconsumed() const;

  // A copy-on-write view of raw region i straight from the file
  // (MAP_PRIVATE | MAP_NORESERVE): pages load on first touch, guest writes
  // never reach the file. The file must not change while it is mapped.
  Result<Mapping> map_region_private(size_t i) const;
  // Fills `dest` (exactly the region's size) with region i's content and
  // verifies its checksum (and, for lz4, every chunk's bounds and checksum).
  // With `dest_zeroed` the caller promises dest is already zero (fresh guest
  // RAM), so holes and absent chunks are skipped instead of written.
  Result<void> read_region(size_t i, std::span<uint8_t> dest, bool dest_zeroed = false) const;
  // Checks region i's content checksum without keeping the bytes.
  Result<void> verify_region(size_t i) const;

 private:
  SnapshotReader() = default;
  Result<void> load_header(uint64_t actual_size);
  Result<void> load_sections();
  Result<void> load_regions();
  Result<std::vector<uint8_t>> read_table(uint64_t offset, uint32_t count, uint32_t entry_size, uint64_t checksum,
                                          const char* name) const;
  Result<std::vector<uint8_t>> read_payload(size_t i) const;
  Result<void> scan_raw(size_t i, std::span<uint8_t> dest, bool dest_zeroed) const;
  Result<void> scan_lz4(size_t i, std::span<uint8_t> dest, bool dest_zeroed) const;
  Error bad(const std::string& what) const;  // kBadSnapshot prefixed with the file
  std::string section_name(size_t i) const;
  std::string region_name(size_t i) const;

  std::string path_;
  UniqueFd fd_;
  Limits limits_;
  Header header_;
  codec::TableIndex index_;
  std::vector<SectionInfo> sections_;
  std::vector<bool> consumed_;
  std::vector<RegionInfo> regions_;
};

}  // namespace vmm::snap
