#include "hypervisor/qmp/qmp_backend.h"

#include <array>

namespace vmm::qmp {

std::string_view run_state_name(RunState state) {
  static constexpr std::array<std::string_view, 16> kNames = {
      "debug",   "inmigrate", "internal-error", "io-error",  "paused",   "postmigrate",    "prelaunch", "finish-migrate",
      "restore-vm", "running", "save-vm",     "shutdown",  "suspended", "watchdog", "guest-panicked", "colo",
  };
  return kNames[static_cast<size_t>(state)];
}

std::string_view migration_status_name(MigrationStatus status) {
  static constexpr std::array<std::string_view, 14> kNames = {
      "none",      "setup",  "cancelling", "cancelled",      "active", "postcopy-active", "postcopy-paused",
      "postcopy-recover", "completed", "failed", "colo", "pre-switchover", "device", "wait-unplug",
  };
  return kNames[static_cast<size_t>(status)];
}

bool migration_in_progress(MigrationStatus status) {
  switch (status) {
    case MigrationStatus::kNone:
    case MigrationStatus::kCancelled:
    case MigrationStatus::kCompleted:
    case MigrationStatus::kFailed:
      return false;
    default:
      return true;
  }
}

Json migration_info_json(const MigrationInfo& info) {
  Json out = Json::object();
  if (info.status == MigrationStatus::kNone) return out;
  out["status"] = std::string(migration_status_name(info.status));
  if (info.setup_time_ms) out["setup-time"] = *info.setup_time_ms;
  if (info.downtime_ms) out["downtime"] = *info.downtime_ms;
  if (info.expected_downtime_ms) out["expected-downtime"] = *info.expected_downtime_ms;
  if (info.total_time_ms) out["total-time"] = *info.total_time_ms;
  if (info.ram) {
    const MigrationRamStats& r = *info.ram;
    out["ram"] = {
        {"total", r.total},
        {"postcopy-requests", r.postcopy_requests},
        {"dirty-sync-count", r.dirty_sync_count},
        {"multifd-bytes", r.multifd_bytes},
        {"pages-per-second", r.pages_per_second},
        {"downtime-bytes", r.downtime_bytes},
        {"page-size", r.page_size},
        {"remaining", r.remaining},
        {"postcopy-bytes", r.postcopy_bytes},
        {"mbps", r.mbps},
        {"transferred", r.transferred},
        {"dirty-sync-missed-zero-copy", r.dirty_sync_missed_zero_copy},
        {"precopy-bytes", r.precopy_bytes},
        {"duplicate", r.duplicate},
        {"dirty-pages-rate", r.dirty_pages_rate},
        {"skipped", r.skipped},
        {"normal-bytes", r.normal_bytes},
        {"normal", r.normal},
    };
  }
  if (!info.error_desc.empty()) out["error-desc"] = info.error_desc;
  return out;
}

}  // namespace vmm::qmp
