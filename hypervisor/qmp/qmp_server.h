// QmpServer: QEMU's QMP on a unix socket. One thread polls the listening
// socket, every client and an eventfd (stop requests and queued events);
// commands run on that thread, so the backend sees one command at a time.
// Clients are independent: each negotiates capabilities itself, and one
// that stalls, floods or disconnects mid-command only loses its own
// connection.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hypervisor/base/event_fd.h"
#include "hypervisor/base/result.h"
#include "hypervisor/qmp/qmp_backend.h"
#include "hypervisor/qmp/qmp_commands.h"
#include "hypervisor/qmp/qmp_json.h"
#include "hypervisor/qmp/unix_socket.h"

namespace vmm::qmp {

struct QmpServerOptions {
  size_t max_request = size_t{1} << 20;  // one request's bytes; beyond: error and close
  size_t max_output = size_t{16} << 20;  // unsent replies and events; beyond: close
  size_t max_clients = 16;               // further connections are closed at once
};

class QmpServer {
 public:
  // Listens at `path` (mode 0600; a stale socket file is replaced) and
  // starts the thread. `backend` must outlive the server.
  static Result<std::unique_ptr<QmpServer>> start(const std::string& path, QmpBackend& backend,
                                                  QmpServerOptions options = {});
  // Stops the thread, sends what is still queued (briefly, best effort:
  // the reply to `quit` gets out), closes every client and removes the
  // socket file.
  ~QmpServer();
  QmpServer(const QmpServer&) = delete;
  QmpServer& operator=(const QmpServer&) = delete;

  // Sends `{"timestamp": ..., "event": NAME, "data": DATA}` to every
  // negotiated client (`data` omitted when null). Thread-safe; the time is
  // taken now, from the wall clock, as QEMU does. Callers on other threads
  // (vCPUs, a migration worker) must be stopped before the server is
  // destroyed.
  void emit(std::string name, Json data = nullptr);

  // The backend reports each migration state change here; the server emits
  // MIGRATION {status} when the `events` capability is on. Thread-safe.
  void migration_status_changed(MigrationStatus status);

  const std::string& path() const { return path_; }

 private:
  struct Client;

  QmpServer(std::string path, QmpBackend& backend, QmpServerOptions options, ListeningSocket socket, EventFd wake);
  void loop();
  void accept_clients();
  void read_client(Client& client);
  void deliver_events();
  void flush(Client& client);

  const std::string path_;
  const QmpServerOptions options_;
  QmpCommands commands_;
  ListeningSocket socket_;
  EventFd wake_;
  std::vector<std::unique_ptr<Client>> clients_;  // server thread only

  std::mutex events_mutex_;
  std::vector<std::string> events_;  // wire lines waiting for the server thread
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace vmm::qmp
