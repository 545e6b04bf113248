// Machine: one guest. It owns the KVM VM and vCPUs, guest memory, the buses
// and devices, the console and the host timers, runs one thread per vCPU and
// ends with an ExitStatus and a one-line reason.
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
#include "hypervisor/machine/console.h"
#include "hypervisor/machine/exit_status.h"
#include "hypervisor/machine/host_timers.h"
#include "hypervisor/machine/kernel_boot.h"
#include "hypervisor/machine/kvm_irq_line.h"
#include "hypervisor/machine/vcpu_control.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv {

struct MachineConfig {
  uint64_t mem_bytes = 256ull << 20;
  uint32_t cpus = 1;
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  ConsoleConfig console;
  std::string kvm_path = "/dev/kvm";
};

class Machine {
 public:
  // Blocks the signals the machine handles itself (SIGINT, SIGTERM, SIGHUP
  // and its wake-up signal) in the calling thread, so every thread created
  // afterwards inherits the mask. Call first thing in main().
  static void block_control_signals();

  static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
  ~Machine();

  // Runs the guest until it stops and returns the exit status; the reason
  // is printed on stderr unless it is the guest's own debug-exit verdict.
  int run();

  // Ends the run (from any thread); the first request wins.
  void request_exit(int status, std::string reason);

  Result<void> pause();
  Result<void> resume();

  GuestMemory& memory() { return memory_; }
  const std::vector<dev::Device*>& devices() const { return devices_; }

 private:
  explicit Machine(GuestMemory memory, Kvm kvm, Vm vm) : memory_(std::move(memory)), kvm_(std::move(kvm)), vm_(std::move(vm)) {}
  Result<void> create_devices(const MachineConfig& config);
  Result<void> load_kernel(const MachineConfig& config);
  Result<void> create_vcpus(const MachineConfig& config);
  void vcpu_loop(size_t index);
  void handle_io(const struct exit::Io& io);
  std::string describe_stop(size_t index, const std::string& what);

  GuestMemory memory_;
  Kvm kvm_;
  Vm vm_;
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
  std::unique_ptr<VcpuControl> control_;
  std::vector<std::thread> threads_;
  BootEntry boot_entry_;

  std::mutex exit_mutex_;
  std::optional<int> exit_status_;
  std::string exit_reason_;
  pthread_t main_thread_{};
};

}  // namespace vmm::hv
