// Test helpers: a private temporary directory and a raw line-oriented
// connection, for what QmpClient deliberately cannot do (split writes,
// garbage, hanging up mid-request).
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "hypervisor/qmp/qmp_json.h"
#include "hypervisor/qmp/unix_socket.h"
#include "tests/fakes/temp_dir.h"

namespace vmm::qmp::test {

using vmm::test::TempDir;

class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    auto fd = connect_unix(path, std::chrono::seconds(5));
    if (fd) fd_ = std::move(fd).value();
  }
  bool connected() const { return fd_.valid(); }
  void send(std::string_view bytes) { (void)send_some(fd_.get(), bytes); }
  void close() { fd_.reset(); }

  // The next line, without its terminator unless `keep_eol`; nullopt on
  // EOF or after `timeout`.
  std::optional<std::string> line(std::chrono::milliseconds timeout = std::chrono::seconds(5), bool keep_eol = false) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (size_t nl = in_.find('\n'); nl != std::string::npos) {
        std::string out = in_.substr(0, keep_eol ? nl + 1 : nl);
        in_.erase(0, nl + 1);
        if (!keep_eol && !out.empty() && out.back() == '\r') out.pop_back();
        return out;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.append(buf, static_cast<size_t>(n));
    }
  }
  // The next line parsed (null JSON on EOF or timeout).
  Json json(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto text = line(timeout);
    if (!text) return Json();
    auto parsed = parse_reply(*text);
    return parsed ? *parsed : Json();
  }
  // True when the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  UniqueFd fd_;
  std::string in_;
};

}  // namespace vmm::qmp::test
