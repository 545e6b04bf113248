// QmpClient: the CLI's side of QMP — against vmm or against QEMU. Every
// blocking read polls with a deadline, so a silent or dead server becomes
// an error, never a hang. Events that arrive while waiting for a reply are
// kept for events() / wait_event().
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

// An error reply exactly as the server sent it.
struct QmpErrorReply {
  std::string error_class;  // "GenericError", "CommandNotFound", ...
  std::string desc;
};

class QmpClient {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{30000};

  // Connects and reads the greeting; negotiate() is separate so a caller
  // can send qmp_capabilities itself (as `vmm qmp` may).
  static Result<QmpClient> connect(const std::string& path, std::chrono::milliseconds timeout = kDefaultTimeout);

  const Json& greeting() const { return greeting_; }
  // `qmp_capabilities` without arguments.
  Result<void> negotiate();

  // Runs NAME with ARGS (an object; null sends none) and returns the
  // `return` value. An error reply becomes an Error whose message is the
  // server's desc (Errc::kUnsupported for CommandNotFound, else
  // kInvalidArgument); last_error() then has the class and desc as sent.
  // Transport failures and timeouts are Errc::kSys.
  Result<Json> execute(std::string_view name, const Json& args = nullptr);

  // Sends TEXT as given, plus a newline, and returns the next reply line
  // (events before it are kept), without its line terminator.
  Result<std::string> transact_raw(std::string_view text);

  // The events received so far, oldest first; the list is emptied.
  std::vector<Json> take_events();
  // The first event named NAME: one already received, or the next to
  // arrive within `timeout`. Other events stay queued.
  Result<Json> wait_event(std::string_view name, std::chrono::milliseconds timeout);

  const std::optional<QmpErrorReply>& last_error() const { return last_error_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  QmpClient(UniqueFd fd, std::chrono::milliseconds timeout) : fd_(std::move(fd)), timeout_(timeout) {}
  Result<void> send_line(std::string_view text, std::chrono::steady_clock::time_point deadline);
  // The next complete line from the server (terminator removed).
  Result<std::string> read_line(std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::string in_;
  Json greeting_;
  std::vector<Json> events_;
  std::optional<QmpErrorReply> last_error_;
  uint64_t next_id_ = 1;
};

}  // namespace vmm::qmp
