#include "hypervisor/qmp/qmp_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "hypervisor/base/log.h"
#include "hypervisor/qmp/qmp_session.h"

namespace vmm::qmp {
namespace {

// QEMU ends every message with CRLF; clients split on LF and strip the CR.
constexpr std::string_view kEol = "\r\n";
// Above this much unsent output a client is not read from, so a client
// that sends commands without reading replies cannot grow our memory.
constexpr size_t kReadPause = size_t{64} << 10;
constexpr size_t kReadChunk = size_t{64} << 10;
constexpr auto kFinalFlush = std::chrono::milliseconds(200);

}  // namespace

struct QmpServer::Client {
  Client(UniqueFd f, QmpCommands& commands, size_t max_request) : fd(std::move(f)), session(commands, max_request) {}
  UniqueFd fd;
  QmpSession session;
  std::string out;
  bool dead = false;
};

Result<std::unique_ptr<QmpServer>> QmpServer::start(const std::string& path, QmpBackend& backend,
                                                    QmpServerOptions options) {
  ListeningSocket socket = VMM_TRY_CTX(listen_unix(path), "QMP socket");
  Result<EventFd> wake = EventFd::create();
  if (!wake) {
    unlink_if_ours(path, socket);
    return std::move(wake).error();
  }
  std::unique_ptr<QmpServer> server(
      new QmpServer(path, backend, options, std::move(socket), std::move(wake).value()));
  server->thread_ = std::thread([s = server.get()] { s->loop(); });
  return server;
}

QmpServer::QmpServer(std::string path, QmpBackend& backend, QmpServerOptions options, ListeningSocket socket,
                     EventFd wake)
    : path_(std::move(path)), options_(options), commands_(backend), socket_(std::move(socket)),
      wake_(std::move(wake)) {}

QmpServer::~QmpServer() {
  stopping_.store(true, std::memory_order_release);
  wake_.signal();
  if (thread_.joinable()) thread_.join();
  deliver_events();
  auto deadline = std::chrono::steady_clock::now() + kFinalFlush;
  for (auto& client : clients_) {
    while (!client->dead && !client->out.empty() && std::chrono::steady_clock::now() < deadline) {
      flush(*client);
      if (client->out.empty() || client->dead) break;
      pollfd pfd{client->fd.get(), POLLOUT, 0};
      ::poll(&pfd, 1, 10);
    }
  }
  clients_.clear();
  unlink_if_ours(path_, socket_);
}

void QmpServer::emit(std::string name, Json data) {
  timespec now{};
  Json stamp = {{"seconds", -1}, {"microseconds", -1}};  // QEMU's "no host time"
  if (::clock_gettime(CLOCK_REALTIME, &now) == 0) {
    stamp = {{"seconds", static_cast<int64_t>(now.tv_sec)}, {"microseconds", static_cast<int64_t>(now.tv_nsec / 1000)}};
  }
  Json event = {{"timestamp", std::move(stamp)}, {"event", std::move(name)}};
  if (!data.is_null()) event["data"] = std::move(data);
  std::string line = to_wire(event);
  line += kEol;
  {
    std::lock_guard lock(events_mutex_);
    events_.push_back(std::move(line));
  }
  wake_.signal();
}

void QmpServer::migration_status_changed(MigrationStatus status) {
  if (!commands_.migration().events_enabled()) return;
  emit("MIGRATION", {{"status", std::string(migration_status_name(status))}});
}

void QmpServer::loop() {
  std::vector<pollfd> fds;
  while (!stopping_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({wake_.fd(), POLLIN, 0});
    fds.push_back({socket_.fd.get(), POLLIN, 0});
    for (const auto& client : clients_) {
      short events = client->out.size() < kReadPause ? POLLIN : 0;
      if (!client->out.empty()) events |= POLLOUT;
      fds.push_back({client->fd.get(), events, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log::error("QMP server: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[0].revents & POLLIN) {
      wake_.drain();
      if (stopping_.load(std::memory_order_acquire)) return;
    }
    deliver_events();
    // Clients accepted below are not in `fds`; they are polled next time.
    size_t polled = clients_.size();
    for (size_t i = 0; i < polled; ++i) {
      Client& client = *clients_[i];
      if (fds[i + 2].revents & (POLLIN | POLLHUP | POLLERR)) read_client(client);
    }
    if (fds[1].revents & POLLIN) accept_clients();
    for (auto& client : clients_) {
      if (!client->dead && !client->out.empty()) flush(*client);
    }
    std::erase_if(clients_, [](const auto& c) { return c->dead; });
  }
}

void QmpServer::accept_clients() {
  while (true) {
    int fd = ::accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) log::warn("QMP server: accept: {}", std::strerror(errno));
      return;
    }
    UniqueFd owned(fd);
    if (clients_.size() >= options_.max_clients) {
      log::warn("QMP server: {} clients already connected; refusing another", clients_.size());
      continue;  // closing it tells the client at once
    }
    auto client = std::make_unique<Client>(std::move(owned), commands_, options_.max_request);
    client->out = QmpSession::greeting();
    client->out += kEol;
    clients_.push_back(std::move(client));
  }
}

void QmpServer::read_client(Client& client) {
  char buf[kReadChunk];
  ssize_t n = ::recv(client.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) client.dead = true;
    return;
  }
  if (n == 0) {
    // Requests it completed before hanging up have already run; a partial
    // one is dropped with the connection.
    client.dead = true;
    return;
  }
  std::vector<std::string> requests;
  JsonSplitter::Status status = client.session.splitter().feed(std::string_view(buf, static_cast<size_t>(n)), requests);
  for (const std::string& request : requests) {
    std::string reply = client.session.handle(request);
    // Events the command caused (STOP, RESUME, SHUTDOWN...) precede its
    // reply, as with QEMU.
    deliver_events();
    client.out += reply;
    client.out += kEol;
    flush(client);
    if (client.dead) return;
  }
  if (status != JsonSplitter::Status::kOk) {
    // The stream cannot be resynchronised after an oversized or absurdly
    // nested request: say why, then hang up.
    const char* why = status == JsonSplitter::Status::kTooLarge ? "JSON parse error, request too large"
                                                                 : "JSON parse error, nesting too deep";
    client.out += error_line("GenericError", why, nullptr);
    client.out += kEol;
    flush(client);
    client.dead = true;
  }
}

void QmpServer::deliver_events() {
  std::vector<std::string> lines;
  {
    std::lock_guard lock(events_mutex_);
    lines.swap(events_);
  }
  if (lines.empty()) return;
  for (auto& client : clients_) {
    if (client->dead || !client->session.negotiated()) continue;
    for (const std::string& line : lines) client->out += line;
    if (client->out.size() > options_.max_output) {
      log::warn("QMP server: a client is not reading its replies; disconnecting it");
      client->dead = true;
    }
  }
}

void QmpServer::flush(Client& client) {
  Result<size_t> sent = send_some(client.fd.get(), client.out);
  if (!sent) {
    client.dead = true;  // the peer went away; its unsent output is moot
    return;
  }
  client.out.erase(0, *sent);
}

}  // namespace vmm::qmp
