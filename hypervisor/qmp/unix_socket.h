// Unix stream sockets for QMP: a listening socket that only its owner can
// use, a connect with a deadline, and sends that never raise SIGPIPE.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"

namespace vmm::qmp {

struct ListeningSocket {
  UniqueFd fd;  // non-blocking
  dev_t dev = 0;
  ino_t ino = 0;  // identifies our socket file, so we never unlink a successor's
};

// Binds and listens at `path` with mode 0600. A socket file left behind by
// a dead process is replaced; one that something still listens on, or a
// path that is not a socket, is an error (never deleted).
Result<ListeningSocket> listen_unix(const std::string& path, int backlog = 16);

// Removes `path` if it is still the socket `socket` created.
void unlink_if_ours(const std::string& path, const ListeningSocket& socket);

// A non-blocking connected socket; retries while the listener's backlog is
// full until `timeout` passes.
Result<UniqueFd> connect_unix(const std::string& path, std::chrono::milliseconds timeout);

// Sends what the socket takes now: the byte count (0 when it would block).
// A peer that went away is an error, never a SIGPIPE.
Result<size_t> send_some(int fd, std::string_view data);

}  // namespace vmm::qmp
