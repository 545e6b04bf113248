// QmpBackend: what the QMP server needs from the machine. The server owns
// the protocol (negotiation, argument checking, the migration capability
// and parameter tables); the backend owns the guest.
//
// Threading: every method is called on the server's thread, one at a time.
// A method may block briefly (pausing vCPUs) but never on the server itself:
// in particular quit() only requests the exit, and the server is destroyed
// later by whoever owns it.
//
// Events — who emits what:
//   backend: STOP, RESUME (also when the guest or a migration stops the VM),
//            SHUTDOWN {guest, reason}, RESET {guest, reason}, and anything
//            else the guest causes — through QmpServer::emit();
//   server:  MIGRATION {status}, when the backend reports a status change
//            with QmpServer::migration_status_changed() and the client
//            turned the `events` capability on (as QEMU does).
// Events the backend emits while one of its methods runs reach the clients
// before that command's reply, as with QEMU (e.g. RESUME before cont's {}).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

// QEMU's RunState (qapi/run-state.json), reported by query-status.
enum class RunState {
  kDebug, kInMigrate, kInternalError, kIoError, kPaused, kPostMigrate, kPrelaunch, kFinishMigrate,
  kRestoreVm, kRunning, kSaveVm, kShutdown, kSuspended, kWatchdog, kGuestPanicked, kColo,
};
std::string_view run_state_name(RunState state);

// QEMU's MigrationStatus (qapi/migration.json, 7.2).
enum class MigrationStatus {
  kNone, kSetup, kCancelling, kCancelled, kActive, kPostcopyActive, kPostcopyPaused, kPostcopyRecover,
  kCompleted, kFailed, kColo, kPreSwitchover, kDevice, kWaitUnplug,
};
std::string_view migration_status_name(MigrationStatus status);
// True from setup until the migration ends (completed, failed, cancelled).
bool migration_in_progress(MigrationStatus status);

enum class Compression { kNone, kLz4 };

// The parameters set with migrate-set-parameters that the backend acts on
// (the server also stores QEMU's other tuning knobs, for query only).
struct MigrationParameters {
  uint64_t max_bandwidth = 134217728;  // bytes/s; QEMU's default (128 MiB/s)
  uint64_t downtime_limit_ms = 300;
  Compression compress = Compression::kNone;  // x-vmm-compress
  bool fsync = true;                          // x-vmm-fsync
};

enum class Transport { kFile, kExec, kTcp, kUnix, kFd };

struct MigrationRequest {
  std::string uri;      // as given: "file:/tmp/snap"
  Transport transport;  // from the URI's scheme
  std::string address;  // the URI after "scheme:"
  std::map<std::string, bool, std::less<>> capabilities;  // every known one, on or off
  MigrationParameters parameters;
};

// MigrationStats in QEMU 7.2: all of these are present whenever `ram` is.
struct MigrationRamStats {
  uint64_t transferred = 0, remaining = 0, total = 0;
  uint64_t duplicate = 0;  // zero pages
  uint64_t skipped = 0, normal = 0, normal_bytes = 0;
  uint64_t dirty_pages_rate = 0;
  double mbps = 0;
  uint64_t dirty_sync_count = 0, postcopy_requests = 0, page_size = 4096;
  uint64_t multifd_bytes = 0, pages_per_second = 0;
  uint64_t precopy_bytes = 0, downtime_bytes = 0, postcopy_bytes = 0;
  uint64_t dirty_sync_missed_zero_copy = 0;
};

// query-migrate's MigrationInfo. QEMU reports fields by state: nothing for
// none; status only for setup; total-time, setup-time, expected-downtime
// and ram while active; total-time, setup-time, downtime and ram once
// completed; error-desc when failed. The backend fills what applies.
struct MigrationInfo {
  MigrationStatus status = MigrationStatus::kNone;
  std::optional<uint64_t> total_time_ms, setup_time_ms, downtime_ms, expected_downtime_ms;
  std::optional<MigrationRamStats> ram;
  std::string error_desc;  // empty: none
};
// query-migrate's reply: `{}` for none, else QEMU's keys in QEMU's order.
Json migration_info_json(const MigrationInfo& info);

class QmpBackend {
 public:
  virtual ~QmpBackend() = default;

  virtual RunState run_state() = 0;
  // Errors are returned to the client as GenericError with the message.
  virtual Result<void> stop() = 0;
  virtual Result<void> cont() = 0;
  virtual Result<void> system_reset() = 0;
  // Requests the process to end; the reply is sent after this returns.
  virtual void quit() = 0;

  // Starts a migration and returns at once; progress is reported through
  // query_migrate() and QmpServer::migration_status_changed(). The server
  // has already checked the arguments, the scheme and that no migration
  // is in progress.
  virtual Result<void> start_migration(const MigrationRequest& request) = 0;
  virtual MigrationInfo query_migrate() = 0;
  // Whether migrate-set-capabilities may turn `name` on. Every capability
  // QEMU 7.2 knows may be turned off.
  virtual bool supports_capability(std::string_view name) { return name == "events"; }
};

}  // namespace vmm::qmp
