#include "hypervisor/qmp/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace vmm::qmp {
namespace {

Result<sockaddr_un> make_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return Error::make(Errc::kInvalidArgument,
                       "socket path '" + path + "' must be 1 to " + std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

Result<UniqueFd> new_socket() {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error::sys(errno, "socket");
  return UniqueFd(fd);
}

// An existing socket file is stale when connecting to it is refused.
Result<void> remove_stale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return Error::sys(errno, "stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) return Error::make(Errc::kInvalidArgument, path + " exists and is not a socket");
  UniqueFd probe = VMM_TRY(new_socket());
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN) {
    return Error::make(Errc::kInvalidArgument, path + " is in use by another process");
  }
  if (errno != ECONNREFUSED) return Error::sys(errno, "connect " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unlink stale socket " + path);
  return {};
}

}  // namespace

Result<ListeningSocket> listen_unix(const std::string& path, int backlog) {
  sockaddr_un addr = VMM_TRY(make_address(path));
  VMM_TRY(remove_stale(path, addr));
  ListeningSocket out;
  out.fd = VMM_TRY(new_socket());
  // bind() creates the file with the socket inode's mode minus the umask,
  // so restricting the inode first leaves no moment in which another user
  // could connect. (umask() would do it too, but it is process-wide and
  // other threads may be creating files.)
  if (::fchmod(out.fd.get(), 0600) != 0) return Error::sys(errno, "fchmod socket");
  if (::bind(out.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return Error::sys(errno, "bind " + path);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::sys(errno, "stat " + path);
  out.dev = st.st_dev;
  out.ino = st.st_ino;
  if ((st.st_mode & 0777) != 0600 && ::chmod(path.c_str(), 0600) != 0) {
    Error error = Error::sys(errno, "chmod " + path);
    ::unlink(path.c_str());
    return error;
  }
  if (::listen(out.fd.get(), backlog) != 0) {
    Error error = Error::sys(errno, "listen " + path);
    ::unlink(path.c_str());
    return error;
  }
  return out;
}

void unlink_if_ours(const std::string& path, const ListeningSocket& socket) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && st.st_dev == socket.dev && st.st_ino == socket.ino) ::unlink(path.c_str());
}

Result<UniqueFd> connect_unix(const std::string& path, std::chrono::milliseconds timeout) {
  sockaddr_un addr = VMM_TRY(make_address(path));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    UniqueFd fd = VMM_TRY(new_socket());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
    // A full backlog (EAGAIN) clears as the server accepts; anything else
    // (no such file, refused) will not change by waiting.
    if (errno != EAGAIN && errno != EINTR) return Error::sys(errno, "connect " + path);
    if (std::chrono::steady_clock::now() >= deadline) return Error::sys(ETIMEDOUT, "connect " + path);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<size_t> send_some(int fd, std::string_view data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return Error::sys(errno, "send");
    }
    sent += static_cast<size_t>(n);
  }
  return sent;
}

}  // namespace vmm::qmp
