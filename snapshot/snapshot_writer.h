// SnapshotWriter: produces one format-1 snapshot file (docs/snapshot-format.md).
//
// Everything goes to PATH.tmp (mode 0600: it holds guest memory); commit()
// writes the tables and the header last, optionally fsyncs, and renames the
// file to PATH. Any failure — and destroying a writer that was not committed —
// removes PATH.tmp, so PATH is either absent, the previous file, or complete.
//
// Output is canonical: the same calls with the same bytes give the same file,
// except the header's creation time (and the header checksum covering it).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"
#include "snapshot/snapshot_format.h"

namespace vmm::snap {

struct SectionDesc {
  std::string kind;      // "uart-16550": 1..64 bytes of ASCII 0x21..0x7e
  std::string instance;  // "uart0": same rules; (kind, instance) is unique
  uint32_t version = 1;      // the state version the payload is encoded in
  uint32_t min_version = 1;  // the oldest loader version that can read it
  uint32_t flags = kSectionMandatory;
};

// The file behind guest memory, when there is one (GuestMemory's memfd and
// the region's offset in it): the writer then skips ranges that are holes in
// it without reading them — reading a never-touched memfd page would
// allocate it. The fd must hold exactly the region's bytes at `offset`.
struct MemoryBacking {
  int fd = -1;
  uint64_t offset = 0;
};

class SnapshotWriter {
 public:
  // Guest bytes done so far and the total announced to set_progress().
  using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

  // Creates PATH.tmp, replacing a leftover from a crashed run.
  static Result<SnapshotWriter> create(const std::string& path, const HeaderInfo& info);

  SnapshotWriter(SnapshotWriter&& other) noexcept;
  SnapshotWriter& operator=(SnapshotWriter&& other) noexcept;
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;
  ~SnapshotWriter();  // removes PATH.tmp unless committed

  // Sections appear in the file in the order they are added.
  Result<void> add_section(const SectionDesc& desc, std::span<const uint8_t> payload);

  // `host_bytes` is the guest memory at `gpa` (page aligned, a whole number of
  // pages). Raw: only non-zero pages are written, the rest stay file holes.
  // Lz4: 1 MiB chunks, all-zero chunks omitted.
  Result<void> add_memory_region(uint64_t gpa, std::span<const uint8_t> host_bytes, Encoding encoding,
                                 MemoryBacking backing = {});

  // Reports guest memory bytes processed against `total_bytes` (normally the
  // sum of the regions to come), at most every few MiB and after each region.
  void set_progress(uint64_t total_bytes, ProgressFn fn);

  // Writes the tables and the header, fsyncs the file and its directory when
  // `fsync` (the user-facing default), and renames PATH.tmp to PATH.
  Result<void> commit(bool fsync);

  const std::string& path() const { return path_; }
  std::string tmp_path() const { return path_ + ".tmp"; }
  uint64_t file_size() const { return file_size_; }  // after commit

 private:
  SnapshotWriter() = default;
  Result<void> write_raw(RegionInfo& r, std::span<const uint8_t> bytes, MemoryBacking backing,
                         const std::string& what);
  Result<void> write_lz4(RegionInfo& r, std::span<const uint8_t> bytes, MemoryBacking backing,
                         const std::string& what);
  Result<void> write_tables_and_header(bool fsync);
  void report_progress(uint64_t bytes, bool force);
  // Ends the writer after a failure: closes and removes PATH.tmp, and
  // prefixes the error with the file it concerns.
  Error fail(Error e);
  Result<void> check_open() const;
  void abandon();

  enum class State { kOpen, kFailed, kCommitted, kMovedFrom };
  State state_ = State::kMovedFrom;
  std::string path_;
  UniqueFd fd_;
  Header header_;
  uint64_t end_ = kHeaderSize;  // where the next item may start
  uint64_t file_size_ = 0;
  std::vector<SectionInfo> sections_;
  std::vector<RegionInfo> regions_;
  std::vector<uint8_t> chunk_buf_;  // lz4 chunk header + compressed bytes
  ProgressFn progress_;
  uint64_t progress_total_ = 0;
  uint64_t progress_done_ = 0;
  uint64_t progress_reported_ = 0;
};

}  // namespace vmm::snap
