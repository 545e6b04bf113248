// EventFd: an eventfd(2) used to wake threads (event loop, irqfd, shutdown).
#pragma once

#include <sys/eventfd.h>

#include <cstdint>

#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"

namespace vmm {

class EventFd {
 public:
  static Result<EventFd> create(int flags = EFD_CLOEXEC | EFD_NONBLOCK) {
    int fd = ::eventfd(0, flags);
    if (fd < 0) return Error::sys(errno, "eventfd");
    return EventFd(UniqueFd(fd));
  }
  // Adds one; never blocks (the counter cannot realistically overflow).
  void signal() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
  }
  // Returns and clears the counter (0 when nothing was signalled).
  uint64_t drain() const {
    uint64_t value = 0;
    if (::read(fd_.get(), &value, sizeof value) != sizeof value) return 0;
    return value;
  }
  int fd() const { return fd_.get(); }

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace vmm
