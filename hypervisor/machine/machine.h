// Machine: one guest. It owns the KVM VM and vCPUs, guest memory, the buses
// and devices, the console, the host timers and the QMP server; runs one
// thread per vCPU; pauses, snapshots and restores the whole of it; and ends
// with an ExitStatus and a one-line reason.
//
// Two ways in: create() boots a kernel, restore() rebuilds a guest from a
// snapshot file. Both then share everything else.
//
// Paused state: pause() stops the vCPUs and devices and captures the vCPU and
// VM state KVM holds (MSRs, LAPIC timer, PIT, kvmclock...) once. A snapshot
// writes that capture, so saving a paused guest twice gives the same bytes,
// and a restored guest keeps the state it was restored from until it runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "devices/bus.h"
#include "devices/device.h"
#include "devices/legacy/cmos_rtc.h"
#include "devices/legacy/debug_exit.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/post_port.h"
#include "devices/legacy/uart_16550.h"
#include "hypervisor/base/result.h"
#include "hypervisor/kvm/kvm.h"
#include "hypervisor/kvm/vcpu_state.h"
#include "hypervisor/kvm/vm_state.h"
#include "hypervisor/machine/console.h"
#include "hypervisor/machine/exit_status.h"
#include "hypervisor/machine/host_timers.h"
#include "hypervisor/machine/kernel_boot.h"
#include "hypervisor/machine/kvm_irq_line.h"
#include "hypervisor/machine/machine_config_state.h"
#include "hypervisor/machine/vcpu_control.h"
#include "hypervisor/memory/guest_memory.h"
#include "hypervisor/qmp/qmp_backend.h"
#include "hypervisor/qmp/qmp_server.h"

namespace vmm::hv {

struct MachineConfig {
  uint64_t mem_bytes = 256ull << 20;
  uint32_t cpus = 1;
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  ConsoleConfig console;
  std::string kvm_path = "/dev/kvm";
  std::string api_socket;  // empty: no QMP socket
};

// How the guest's clocks resume after a restore.
enum class ClockPolicy {
  kContinue,  // from the snapshot instant: the guest sees no time pass
  kHost,      // forward by the wall-clock time since the snapshot was taken
};

struct RestoreConfig {
  std::string snapshot_path;
  ConsoleConfig console;
  std::string kvm_path = "/dev/kvm";
  std::string api_socket;
  bool paused = false;  // stay paused until QMP `cont`
  bool eager = false;   // read all memory now instead of mapping the file
  ClockPolicy clock = ClockPolicy::kContinue;
};

struct SaveOptions {
  qmp::Compression compress = qmp::Compression::kNone;
  bool fsync = true;
  // Called with bytes of guest memory written so far and the total.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct SaveStats {
  uint64_t file_bytes = 0;
  uint64_t memory_bytes = 0;
  uint64_t zero_pages = 0;
  uint64_t normal_pages = 0;
};

class Machine : public qmp::QmpBackend {
 public:
  // Blocks the signals the machine handles itself (SIGINT, SIGTERM, SIGHUP
  // and its wake-up signal) in the calling thread, so every thread created
  // afterwards inherits the mask. Call first thing in main().
  static void block_control_signals();

  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  static Result<std::unique_ptr<Machine>> restore(const RestoreConfig& config);
  ~Machine() override;

  // Runs the guest until it stops and returns the exit status; the reason
  // is printed on stderr unless it is the guest's own debug-exit verdict.
  int run();

  // Ends the run (from any thread); the first request wins.
  void request_exit(int status, std::string reason);

  // Both idempotent; they emit QMP STOP / RESUME when the state changes.
  Result<void> pause();
  Result<void> resume();

  // Writes a snapshot of the paused machine to `path` (PATH.tmp, fsync,
  // rename). The machine must be paused.
  Result<SaveStats> save_snapshot(const std::string& path, const SaveOptions& options);

  // qmp::QmpBackend
  qmp::RunState run_state() override;
  Result<void> stop() override;
  Result<void> cont() override;
  Result<void> system_reset() override;
  void quit() override;
  Result<void> start_migration(const qmp::MigrationRequest& request) override;
  qmp::MigrationInfo query_migrate() override;

 private:
  Machine() = default;
  // Steps shared by create() and restore().
  Result<void> open_vm(const std::string& kvm_path, uint32_t cpus);
  Result<void> map_memory(GuestMemory memory);
  Result<void> create_devices(const ConsoleConfig& console);
  Result<void> create_vcpu_fds(uint32_t cpus);
  Result<void> setup_boot_vcpus();
  Result<void> capture_reset_state();
  Result<void> start_api(const std::string& socket);
  Result<void> load_snapshot(const RestoreConfig& config);
  Result<void> capture_paused_state();
  Result<void> apply_clock_on_resume();
  void migration_worker(qmp::MigrationRequest request);
  void set_migration_status(qmp::MigrationStatus status, std::string error = "");

  void vcpu_loop(size_t index);
  void handle_io(const exit::Io& io);
  std::string describe_stop(size_t index, const std::string& what);

  MachineConfigState config_;
  std::optional<Kvm> kvm_;
  std::optional<Vm> vm_;
  std::optional<GuestMemory> memory_;
  dev::PioBus pio_;
  dev::MmioBus mmio_;
  std::unique_ptr<Console> console_;
  std::unique_ptr<HostTimers> timers_;

  std::vector<std::unique_ptr<KvmIrqLine>> irq_lines_;
  std::unique_ptr<dev::Uart16550> com1_, com2_;
  std::unique_ptr<dev::I8042> i8042_;
  std::unique_ptr<dev::CmosRtc> rtc_;
  std::unique_ptr<dev::DebugExit> debug_exit_;
  std::unique_ptr<dev::PostPort> post_port_;
  std::vector<dev::Device*> devices_;  // in snapshot order

  std::vector<std::unique_ptr<Vcpu>> vcpus_;
  std::vector<uint32_t> msr_indices_;
  std::unique_ptr<VcpuControl> control_;
  std::vector<std::thread> threads_;
  BootEntry boot_entry_;

  // Run-state changes are serialised by state_mutex_ (taken by QMP, the
  // migration worker and the main thread; never by vCPU threads, which
  // pause() waits for). The flags are atomic so that query-status answers
  // while a long save holds the mutex.
  mutable std::mutex state_mutex_;
  std::atomic<bool> paused_{false};
  std::atomic<bool> post_migrate_{false};
  std::optional<VmState> vm_state_;          // captured while paused
  std::vector<VcpuState> vcpu_states_;       // captured while paused
  // The power-on state of a booted machine, for system_reset.
  std::optional<VmState> reset_vm_state_;
  std::vector<VcpuState> reset_vcpu_states_;
  std::optional<int64_t> restored_at_realtime_ns_;  // the snapshot's creation time, for ClockPolicy::kHost
  ClockPolicy clock_policy_ = ClockPolicy::kContinue;

  // The migration (snapshot) in progress, if any.
  std::mutex migration_mutex_;
  qmp::MigrationInfo migration_;
  int64_t migration_start_ns_ = 0;
  std::thread migration_thread_;

  std::unique_ptr<qmp::QmpServer> api_;

  std::mutex exit_mutex_;
  std::optional<int> exit_status_;
  std::string exit_reason_;
  pthread_t main_thread_{};
};

}  // namespace vmm::hv
