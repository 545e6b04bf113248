// Mapping: an owned mmap() region, unmapped exactly once.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "hypervisor/base/result.h"

namespace vmm {

class Mapping {
 public:
  Mapping() = default;
  // mmap(nullptr, size, prot, flags, fd, offset); fd may be -1 for anonymous.
  static Result<Mapping> map(size_t size, int prot, int flags, int fd, off_t offset);

  Mapping(Mapping&& o) noexcept : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      unmap();
      addr_ = std::exchange(o.addr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { unmap(); }

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }
  std::span<uint8_t> bytes() const { return {data(), size_}; }

 private:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  void unmap() {
    if (addr_) ::munmap(addr_, size_);
    addr_ = nullptr;
  }
  void* addr_ = nullptr;
  size_t size_ = 0;
};

inline Result<Mapping> Mapping::map(size_t size, int prot, int flags, int fd, off_t offset) {
  void* p = ::mmap(nullptr, size, prot, flags, fd, offset);
  if (p == MAP_FAILED) return Error::sys(errno, "mmap");
  return Mapping(p, size);
}

}  // namespace vmm
