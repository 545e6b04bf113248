// Machine as a QMP backend: run control and `migrate` to a file, which is how
// a snapshot is taken (QEMU's verb, with 8.2's `file:` URI).
//
// A snapshot runs on its own thread so QMP keeps answering query-migrate:
// setup -> active (guest paused, state captured, file written) -> completed,
// after which the guest stays paused (QEMU's postmigrate) until `cont`; or
// -> failed, after which a guest that was running runs again: a failed
// snapshot never stops its source.
#include <fmt/format.h>

#include "hypervisor/base/log.h"
#include "hypervisor/machine/machine.h"

namespace vmm::hv {
namespace {
int64_t now_ms() { return HostClock().monotonic_ns() / 1'000'000; }
}  // namespace

qmp::RunState Machine::run_state() {
  {
    std::lock_guard lock(migration_mutex_);
    if (migration_.status == qmp::MigrationStatus::kActive) return qmp::RunState::kFinishMigrate;
  }
  if (post_migrate_) return qmp::RunState::kPostMigrate;
  return paused_ ? qmp::RunState::kPaused : qmp::RunState::kRunning;
}

Result<void> Machine::stop() { return pause(); }

Result<void> Machine::cont() {
  {
    std::lock_guard lock(migration_mutex_);
    if (qmp::migration_in_progress(migration_.status)) {
      return Error::make(Errc::kInvalidArgument, "Migration is in progress; try again when it has finished");
    }
  }
  return resume();
}

// A reset is a power cycle without losing RAM, as on a PC: the kernel is
// loaded again (the guest may have overwritten it), every device and vCPU
// returns to its power-on state, and APs wait for SIPI again.
Result<void> Machine::system_reset() {
  if (!reset_vm_state_) {
    return Error::make(Errc::kUnsupported, "system_reset is not supported for a restored guest yet");
  }
  {
    std::lock_guard lock(migration_mutex_);
    if (qmp::migration_in_progress(migration_.status)) {
      return Error::make(Errc::kInvalidArgument, "Migration is in progress; try again when it has finished");
    }
  }
  bool was_running = !paused_;
  VMM_TRY(pause());
  {
    std::lock_guard lock(state_mutex_);
    boot_entry_ = VMM_TRY(load_kernel(*memory_, {config_.kernel_path, config_.initrd_path, config_.cmdline, config_.cpus}));
    for (auto* d : devices_) {
      d->reset();
      VMM_TRY(d->pause());  // reset() may restart timers; the guest is still paused
    }
    for (size_t i = 0; i < vcpus_.size(); ++i) VMM_TRY(restore_vcpu_state(*vcpus_[i], reset_vcpu_states_[i]));
    VMM_TRY(restore_vm_irqchips(*vm_, *reset_vm_state_));
    vcpu_states_ = reset_vcpu_states_;
    uint64_t clock = vm_state_->kvmclock_ns;  // guest time keeps running through a reset
    vm_state_ = *reset_vm_state_;
    vm_state_->kvmclock_ns = clock;
    post_migrate_ = false;
  }
  if (api_) api_->emit("RESET", qmp::Json{{"guest", false}, {"reason", "host-qmp-system-reset"}});
  if (was_running) VMM_TRY(resume());
  return {};
}

void Machine::quit() { request_exit(kExitPoweroff, ""); }

void Machine::set_migration_status(qmp::MigrationStatus status, std::string error) {
  {
    std::lock_guard lock(migration_mutex_);
    migration_.status = status;
    migration_.error_desc = std::move(error);
  }
  if (api_) api_->migration_status_changed(status);
}

Result<void> Machine::start_migration(const qmp::MigrationRequest& request) {
  if (request.transport != qmp::Transport::kFile) {
    return Error::make(Errc::kUnsupported, "vmm can migrate only to 'file:PATH' so far");
  }
  if (request.address.empty()) return Error::make(Errc::kInvalidArgument, "file: migration needs a path");
  if (migration_thread_.joinable()) migration_thread_.join();  // a finished one
  {
    std::lock_guard lock(migration_mutex_);
    migration_ = qmp::MigrationInfo{};
    migration_.status = qmp::MigrationStatus::kSetup;
    migration_start_ns_ = HostClock().monotonic_ns();
  }
  if (api_) api_->migration_status_changed(qmp::MigrationStatus::kSetup);
  migration_thread_ = std::thread([this, request] { migration_worker(request); });
  return {};
}

void Machine::migration_worker(qmp::MigrationRequest request) {
  int64_t start = now_ms();
  bool was_running = !paused_;
  auto paused = pause();
  if (!paused) {
    set_migration_status(qmp::MigrationStatus::kFailed, paused.error().message());
    return;
  }
  int64_t setup_done = now_ms();
  set_migration_status(qmp::MigrationStatus::kActive);
  SaveOptions options;
  options.compress = request.parameters.compress;
  options.fsync = request.parameters.fsync;
  options.progress = [this](uint64_t done, uint64_t total) {
    std::lock_guard lock(migration_mutex_);
    qmp::MigrationRamStats ram;
    ram.total = total, ram.transferred = done, ram.remaining = total - std::min(done, total);
    migration_.ram = ram;
  };
  auto saved = save_snapshot(request.address, options);
  int64_t end = now_ms();
  if (!saved) {
    log::error("snapshot to {} failed: {}", request.address, saved.error().message());
    if (was_running) {
      auto resumed = resume();
      if (!resumed) log::error("could not resume the guest: {}", resumed.error().message());
    }
    set_migration_status(qmp::MigrationStatus::kFailed, saved.error().message());
    return;
  }
  {
    std::lock_guard lock(migration_mutex_);
    migration_.total_time_ms = static_cast<uint64_t>(end - start);
    migration_.setup_time_ms = static_cast<uint64_t>(setup_done - start);
    migration_.downtime_ms = static_cast<uint64_t>(end - setup_done);
    qmp::MigrationRamStats ram;
    ram.total = saved->memory_bytes;
    ram.transferred = saved->file_bytes;
    double seconds = std::max<int64_t>(end - setup_done, 1) / 1000.0;
    ram.mbps = static_cast<double>(saved->file_bytes) * 8 / 1e6 / seconds;
    migration_.ram = ram;
  }
  post_migrate_ = true;
  set_migration_status(qmp::MigrationStatus::kCompleted);
}

qmp::MigrationInfo Machine::query_migrate() {
  std::lock_guard lock(migration_mutex_);
  qmp::MigrationInfo info = migration_;
  if (qmp::migration_in_progress(info.status) && info.status != qmp::MigrationStatus::kSetup) {
    info.total_time_ms = static_cast<uint64_t>((HostClock().monotonic_ns() - migration_start_ns_) / 1'000'000);
  }
  return info;
}

}  // namespace vmm::hv
