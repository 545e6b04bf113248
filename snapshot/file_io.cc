#include "snapshot/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "hypervisor/base/unique_fd.h"

namespace vmm::snap::io {
namespace {

// Linux transfers at most this much per call anyway; asking for more only
// makes the short-write path the common one.
constexpr size_t kMaxIo = size_t{1} << 30;

}  // namespace

Result<void> pwrite_all(int fd, std::span<const uint8_t> bytes, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < bytes.size()) {
    size_t step = std::min(bytes.size() - done, kMaxIo);
    ssize_t n = ::pwrite(fd, bytes.data() + done, step, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, fmt::format("{} at offset {}", what, hex(offset + done)));
    }
    if (n == 0) return Error::sys(EIO, fmt::format("{} at offset {}", what, hex(offset + done)));
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> pread_all(int fd, std::span<uint8_t> bytes, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < bytes.size()) {
    size_t step = std::min(bytes.size() - done, kMaxIo);
    ssize_t n = ::pread(fd, bytes.data() + done, step, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, fmt::format("{} at offset {}", what, hex(offset + done)));
    }
    if (n == 0) {
      return Error::make(Errc::kBadSnapshot,
                         fmt::format("{}: the file ends at offset {} (was it truncated?)", what, hex(offset + done)));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<void> fsync_parent_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Error::sys(errno, "open directory " + dir);
  if (::fsync(fd.get()) != 0) return Error::sys(errno, "fsync directory " + dir);
  return {};
}

Extent next_data(int fd, uint64_t base, uint64_t pos, uint64_t end) {
  off_t data = ::lseek(fd, static_cast<off_t>(base + pos), SEEK_DATA);
  if (data < 0) {
    // ENXIO: no data after pos. Anything else: no hole support; read it all.
    return errno == ENXIO ? Extent{end, end} : Extent{pos, end};
  }
  uint64_t start = std::max(pos, static_cast<uint64_t>(data) - base);
  if (start >= end) return {end, end};
  off_t hole = ::lseek(fd, static_cast<off_t>(base + start), SEEK_HOLE);
  uint64_t stop = hole < 0 ? end : std::min(end, static_cast<uint64_t>(hole) - base);
  if (stop <= start) stop = end;  // the file changed under us: treat the rest as data
  return {start, stop};
}

std::string hex(uint64_t v) { return fmt::format("{:#x}", v); }

}  // namespace vmm::snap::io
