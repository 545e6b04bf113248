// Whole-buffer positional I/O with errors that name the operation, and the
// directory fsync that makes a rename durable. Shared by writer and reader.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hypervisor/base/result.h"

namespace vmm::snap::io {

// Writes all of `bytes` at `offset`, continuing after short writes and EINTR.
// `what` names the operation for the error ("write section uart0 to F.tmp").
Result<void> pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset, std::string_view what);

// Reads exactly `bytes.size()` bytes at `offset`; hitting the end of the file
// is an error (kBadSnapshot), since every read was bounded by the file size
// at open and a shorter file means it changed under us.
Result<void> pread_all(int fd, std::span<uint8_t> bytes, uint64_t offset, std::string_view what);

// fsync of the directory holding `path`, so a rename into it survives a crash.
Result<void> fsync_parent_dir(const std::string& path);

// The first data extent of `fd` in [base+pos, base+end), relative to base;
// {end, end} when only holes remain. Holes read as zero, so callers skip
// them without reading (for a memfd, reading would allocate the pages).
// Where SEEK_DATA is unsupported everything is data.
struct Extent {
  uint64_t start;
  uint64_t stop;
};
Extent next_data(int fd, uint64_t base, uint64_t pos, uint64_t end);

// "0x1f000": offsets and lengths in errors, as inspect prints them.
std::string hex(uint64_t v);

}  // namespace vmm::snap::io
