#include "hypervisor/qmp/qmp_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "hypervisor/qmp/unix_socket.h"

namespace vmm::qmp {
namespace {

using Clock = std::chrono::steady_clock;

// QEMU's query-qmp-schema is a few hundred KiB; nothing legitimate is
// anywhere near this.
constexpr size_t kMaxLine = size_t{64} << 20;

int millis_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

bool is_event(const Json& message) { return message.is_object() && message.contains("event"); }

}  // namespace

Result<QmpClient> QmpClient::connect(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  UniqueFd fd = VMM_TRY(connect_unix(path, timeout));
  QmpClient client(std::move(fd), timeout);
  std::string line = VMM_TRY_CTX(client.read_line(deadline), "QMP greeting");
  Json greeting = VMM_TRY_CTX(parse_reply(line), "QMP greeting");
  if (!greeting.is_object() || !greeting.contains("QMP")) {
    return Error::make(Errc::kInvalidArgument, path + " is not a QMP socket (no greeting)");
  }
  client.greeting_ = std::move(greeting);
  return client;
}

Result<void> QmpClient::negotiate() {
  VMM_TRY(execute("qmp_capabilities"));
  return {};
}

Result<Json> QmpClient::execute(std::string_view name, const Json& args) {
  auto deadline = Clock::now() + timeout_;
  last_error_.reset();
  uint64_t id = next_id_++;
  Json request = {{"execute", std::string(name)}};
  if (!args.is_null()) request["arguments"] = args;
  request["id"] = id;
  VMM_TRY(send_line(to_wire(request), deadline));
  while (true) {
    std::string line = VMM_TRY(read_line(deadline));
    Json message = VMM_TRY(parse_reply(line));
    if (is_event(message)) {
      events_.push_back(std::move(message));
      continue;
    }
    // Replies to requests that timed out earlier carry older ids.
    auto reply_id = message.is_object() ? message.find("id") : message.end();
    if (reply_id == message.end() || *reply_id != Json(id)) continue;
    if (auto ret = message.find("return"); ret != message.end()) return *ret;
    auto error = message.find("error");
    if (error == message.end() || !error->is_object()) {
      return Error::make(Errc::kInvalidArgument, "malformed QMP reply: " + line);
    }
    QmpErrorReply reply{error->value("class", std::string("GenericError")), error->value("desc", std::string())};
    Errc code = reply.error_class == "CommandNotFound" ? Errc::kUnsupported : Errc::kInvalidArgument;
    last_error_ = reply;
    return Error::make(code, reply.desc);
  }
}

Result<std::string> QmpClient::transact_raw(std::string_view text) {
  auto deadline = Clock::now() + timeout_;
  std::string line(text);
  VMM_TRY(send_line(line, deadline));
  while (true) {
    std::string reply = VMM_TRY(read_line(deadline));
    Result<Json> message = parse_reply(reply);
    if (message && is_event(*message)) {
      events_.push_back(std::move(message).value());
      continue;
    }
    return reply;
  }
}

std::vector<Json> QmpClient::take_events() { return std::exchange(events_, {}); }

Result<Json> QmpClient::wait_event(std::string_view name, std::chrono::milliseconds timeout) {
  auto matches = [name](const Json& e) { return e.value("event", std::string()) == name; };
  if (auto it = std::find_if(events_.begin(), events_.end(), matches); it != events_.end()) {
    Json event = std::move(*it);
    events_.erase(it);
    return event;
  }
  auto deadline = Clock::now() + timeout;
  while (true) {
    Result<std::string> line = read_line(deadline);
    if (!line) return std::move(line).error().context("waiting for event " + std::string(name));
    Json message = VMM_TRY(parse_reply(*line));
    if (!is_event(message)) continue;  // a stray reply: nobody waits for it
    if (matches(message)) return message;
    events_.push_back(std::move(message));
  }
}

Result<void> QmpClient::send_line(std::string_view text, Clock::time_point deadline) {
  std::string data(text);
  data += '\n';
  std::string_view rest = data;
  while (!rest.empty()) {
    Result<size_t> sent = send_some(fd_.get(), rest);
    if (!sent) {
      int err = sent.error().sys_errno();
      if (err == EPIPE || err == ECONNRESET) return Error::make(Errc::kSys, "QMP: the server closed the connection");
      return std::move(sent).error().context("QMP");
    }
    rest.remove_prefix(*sent);
    if (rest.empty()) break;
    pollfd pfd{fd_.get(), POLLOUT, 0};
    int n = ::poll(&pfd, 1, millis_until(deadline));
    if (n < 0 && errno != EINTR) return Error::sys(errno, "QMP: poll");
    if (n == 0) return Error::sys(ETIMEDOUT, "QMP: sending a request");
  }
  return {};
}

Result<std::string> QmpClient::read_line(Clock::time_point deadline) {
  while (true) {
    if (size_t nl = in_.find('\n'); nl != std::string::npos) {
      std::string line = in_.substr(0, nl);
      in_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      return line;
    }
    if (in_.size() > kMaxLine) return Error::make(Errc::kInvalidArgument, "QMP: reply line too long");
    pollfd pfd{fd_.get(), POLLIN, 0};
    int n = ::poll(&pfd, 1, millis_until(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys(errno, "QMP: poll");
    }
    if (n == 0) return Error::sys(ETIMEDOUT, "QMP: no reply");
    char buf[65536];
    ssize_t r = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Error::sys(errno, "QMP: receive");
    }
    if (r == 0) return Error::make(Errc::kSys, "QMP: the server closed the connection");
    in_.append(buf, static_cast<size_t>(r));
  }
}

}  // namespace vmm::qmp
