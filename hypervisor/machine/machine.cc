#include "hypervisor/machine/machine.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "hypervisor/base/log.h"
#include "hypervisor/boot/cpuid.h"
#include "hypervisor/boot/vcpu_boot_state.h"
#include "hypervisor/boot/x86_layout.h"
#include "hypervisor/machine/kernel_boot.h"

namespace vmm::hv {
namespace {

// Wakes the main thread out of sigwait() when the machine must stop.
constexpr int kWakeSignal = SIGUSR2;

// KVM's TSS and identity-map pages for real-mode emulation on Intel, in the
// top of the 32-bit space below the BIOS area, as QEMU and Firecracker do.
constexpr uint64_t kKvmTssAddr = 0xfffbd000;
constexpr uint64_t kKvmIdentityMapAddr = 0xfffbc000;

// Local APIC LVT registers and delivery modes (Intel SDM Vol. 3, 11.5.1).
constexpr size_t kApicLvtLint0 = 0x350;
constexpr size_t kApicLvtLint1 = 0x360;
constexpr uint32_t kDeliveryExtInt = 0x700;
constexpr uint32_t kDeliveryNmi = 0x400;

// ISA interrupt lines (GSIs) of the legacy devices.
constexpr uint32_t kIrqKeyboard = 1, kIrqCom2 = 3, kIrqCom1 = 4, kIrqRtc = 8, kIrqMouse = 12;

sigset_t control_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, kWakeSignal}) sigaddset(&set, s);
  return set;
}

void set_lvt(kvm_lapic_state& lapic, size_t reg, uint32_t delivery_mode) {
  uint32_t value;
  std::memcpy(&value, &lapic.regs[reg], sizeof value);
  value = (value & ~0x10700u) | delivery_mode;  // unmask, set the delivery mode
  std::memcpy(&lapic.regs[reg], &value, sizeof value);
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

void Machine::block_control_signals() {
  sigset_t set = control_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  VcpuControl::install_kick_handler();
}

Result<std::unique_ptr<Machine>> Machine::create(const MachineConfig& config) {
  std::unique_ptr<Machine> m(new Machine());
  m->main_thread_ = pthread_self();
  VMM_TRY(m->open_vm(config.kvm_path, config.cpus));
  auto layout = boot::ram_layout(config.mem_bytes);
  VMM_TRY(m->map_memory(VMM_TRY_CTX(GuestMemory::create(layout), "guest memory")));
  m->boot_entry_ = VMM_TRY(load_kernel(*m->memory_, {config.kernel_path, config.initrd_path, config.cmdline, config.cpus}));
  for (const auto& r : layout) m->config_.memory.push_back(RegionState{r.gpa, r.size});
  m->config_.cpus = config.cpus;
  m->config_.kernel_path = config.kernel_path;
  m->config_.initrd_path = config.initrd_path;
  m->config_.cmdline = config.cmdline;
  VMM_TRY(m->create_devices(config.console));
  VMM_TRY(m->create_vcpu_fds(config.cpus));
  VMM_TRY(m->setup_boot_vcpus());
  VMM_TRY(m->capture_reset_state());
  VMM_TRY(m->start_api(config.api_socket));
  return m;
}

Machine::~Machine() {
  // The snapshot worker reports to the QMP server: it ends first.
  if (migration_thread_.joinable()) migration_thread_.join();
  api_.reset();
  if (control_) control_->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Result<void> Machine::open_vm(const std::string& kvm_path, uint32_t cpus) {
  kvm_.emplace(VMM_TRY(Kvm::open(kvm_path)));
  if (cpus == 0 || cpus > static_cast<uint32_t>(kvm_->max_vcpus())) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("--cpus {}: this host's KVM allows 1 to {}", cpus, kvm_->max_vcpus()));
  }
  vm_.emplace(VMM_TRY(kvm_->create_vm()));
  VMM_TRY(vm_->set_tss_addr(kKvmTssAddr));
  VMM_TRY(vm_->set_identity_map_addr(kKvmIdentityMapAddr));
  VMM_TRY(vm_->create_irqchip());
  VMM_TRY(vm_->create_pit2());
  return {};
}

Result<void> Machine::map_memory(GuestMemory memory) {
  memory_.emplace(std::move(memory));
  uint32_t slot = 0;
  for (const auto& r : memory_->regions()) VMM_TRY(vm_->set_user_memory_region(slot++, r.gpa, r.size, r.host));
  return {};
}

Result<void> Machine::create_devices(const ConsoleConfig& console_config) {
  console_ = VMM_TRY(Console::open(console_config));
  timers_ = std::make_unique<HostTimers>();
  auto line = [&](uint32_t gsi) -> KvmIrqLine& {
    irq_lines_.push_back(std::make_unique<KvmIrqLine>(*vm_, gsi));
    return *irq_lines_.back();
  };
  Console* console = console_.get();
  com1_ = std::make_unique<dev::Uart16550>("uart0", line(kIrqCom1),
                                           [console](std::span<const uint8_t> b) { console->write(b); });
  // COM2 is reserved for a guest agent; until one exists its output is dropped.
  com2_ = std::make_unique<dev::Uart16550>("uart1", line(kIrqCom2), [](std::span<const uint8_t>) {});
  i8042_ = std::make_unique<dev::I8042>("i8042", line(kIrqKeyboard), line(kIrqMouse),
                                        [this] { request_exit(kExitGuestReset, "guest requested a reset (i8042)"); });
  rtc_ = std::make_unique<dev::CmosRtc>("rtc", line(kIrqRtc), *timers_);
  debug_exit_ = std::make_unique<dev::DebugExit>("debug-exit", [this](int status) { request_exit(status, ""); });
  post_port_ = std::make_unique<dev::PostPort>("post");

  VMM_TRY(pio_.insert(0x3f8, 8, *com1_));
  VMM_TRY(pio_.insert(0x2f8, 8, *com2_));
  VMM_TRY(pio_.insert(0x60, 1, *i8042_));
  VMM_TRY(pio_.insert(0x64, 1, *i8042_));
  VMM_TRY(pio_.insert(0x70, 2, *rtc_));
  VMM_TRY(pio_.insert(0xf4, 4, *debug_exit_));
  VMM_TRY(pio_.insert(0x80, 1, *post_port_));
  devices_ = {com1_.get(), com2_.get(), i8042_.get(), rtc_.get(), debug_exit_.get(), post_port_.get()};
  com1_->set_rx_space_callback([console] { console->notify_space(); });
  return {};
}

Result<void> Machine::create_vcpu_fds(uint32_t cpus) {
  std::vector<Vcpu*> raw;
  for (uint32_t i = 0; i < cpus; ++i) {
    vcpus_.push_back(std::make_unique<Vcpu>(VMM_TRY(vm_->create_vcpu(i, kvm_->vcpu_mmap_size()))));
    raw.push_back(vcpus_.back().get());
  }
  control_ = std::make_unique<VcpuControl>(raw);
  return {};
}

Result<void> Machine::setup_boot_vcpus() {
  auto supported = VMM_TRY(kvm_->supported_cpuid());
  auto msrs = boot::initial_msrs();
  uint32_t cpus = static_cast<uint32_t>(vcpus_.size());
  for (uint32_t i = 0; i < cpus; ++i) {
    Vcpu& vcpu = *vcpus_[i];
    VMM_TRY_CTX(vcpu.set_cpuid(boot::cpuid_for_vcpu(supported, i, cpus)), fmt::format("vCPU {}", i));
    VMM_TRY_CTX(vcpu.set_msrs(msrs), fmt::format("vCPU {}", i));
    kvm_fpu fpu{};
    fpu.fcw = 0x37f;     // x87 power-on control word
    fpu.mxcsr = 0x1f80;  // all SSE exceptions masked
    VMM_TRY(vcpu.set_fpu(fpu));
    if (i == 0) {
      // The BSP takes PIC interrupts through LINT0 (virtual wire mode, MP
      // spec 3.6.2.2) and NMIs through LINT1; APs wait for INIT/SIPI.
      kvm_lapic_state lapic = VMM_TRY(vcpu.get_lapic());
      set_lvt(lapic, kApicLvtLint0, kDeliveryExtInt);
      set_lvt(lapic, kApicLvtLint1, kDeliveryNmi);
      VMM_TRY(vcpu.set_lapic(lapic));
      VMM_TRY(set_boot_vcpu_state(vcpu, boot_entry_));
    }
  }
  config_.tsc_khz = VMM_TRY(vcpus_[0]->get_tsc_khz());
  return {};
}

Result<void> Machine::capture_reset_state() {
  msr_indices_ = VMM_TRY(saveable_msrs(*kvm_, *vcpus_[0]));
  reset_vm_state_ = VMM_TRY(capture_vm_state(*vm_));
  for (auto& v : vcpus_) reset_vcpu_states_.push_back(VMM_TRY(capture_vcpu_state(*v, msr_indices_)));
  return {};
}

Result<void> Machine::start_api(const std::string& socket) {
  if (socket.empty()) return {};
  api_ = VMM_TRY_CTX(qmp::QmpServer::start(socket, *this), "QMP socket " + socket);
  return {};
}

void Machine::request_exit(int status, std::string reason) {
  {
    std::lock_guard lock(exit_mutex_);
    if (exit_status_) return;
    exit_status_ = status;
    exit_reason_ = std::move(reason);
  }
  control_->stop();
  pthread_kill(main_thread_, kWakeSignal);
}

Result<void> Machine::pause() {
  {
    std::lock_guard lock(state_mutex_);
    if (paused_) return {};
    control_->pause();
    for (auto* d : devices_) VMM_TRY_CTX(d->pause(), d->instance_id());
    if (auto captured = capture_paused_state(); !captured) {
      // Never leave a guest stopped because its state could not be read.
      for (auto* d : devices_) (void)d->resume();
      control_->resume();
      return std::move(captured).error().context("pause");
    }
    paused_ = true;
  }
  if (api_) api_->emit("STOP");
  return {};
}

Result<void> Machine::capture_paused_state() {
  if (msr_indices_.empty()) msr_indices_ = VMM_TRY(saveable_msrs(*kvm_, *vcpus_[0]));
  vm_state_ = VMM_TRY(capture_vm_state(*vm_));
  vcpu_states_.clear();
  for (auto& v : vcpus_) vcpu_states_.push_back(VMM_TRY_CTX(capture_vcpu_state(*v, msr_indices_), fmt::format("vCPU {}", v->id())));
  return {};
}

Result<void> Machine::apply_clock_on_resume() {
  if (!vm_state_) return {};
  uint64_t ns = vm_state_->kvmclock_ns;
  if (restored_at_realtime_ns_ && clock_policy_ == ClockPolicy::kHost) {
    int64_t elapsed = HostClock().realtime_ns() - *restored_at_realtime_ns_;
    if (elapsed > 0) {
      ns += static_cast<uint64_t>(elapsed);
      rtc_->advance_paused_time(elapsed);
    }
  }
  restored_at_realtime_ns_.reset();
  VMM_TRY(restore_vm_clock(*vm_, ns));
  // Tells a kvmclock guest it was stopped; fails when it does not use kvmclock.
  for (auto& v : vcpus_) (void)v->kvmclock_ctrl();
  return {};
}

Result<void> Machine::resume() {
  {
    std::lock_guard lock(state_mutex_);
    if (!paused_) return {};
    VMM_TRY_CTX(apply_clock_on_resume(), "resume");
    for (auto* d : devices_) VMM_TRY_CTX(d->resume(), d->instance_id());
    control_->resume();
    paused_ = false;
    post_migrate_ = false;
    vm_state_.reset();
    vcpu_states_.clear();
  }
  if (api_) api_->emit("RESUME");
  return {};
}

int Machine::run() {
  dev::Uart16550* com1 = com1_.get();
  Console* console = console_.get();
  if (auto input = console->start_input([com1](std::span<const uint8_t> b) { return com1->receive(b); },
                                        [this] { request_exit(kExitPoweroff, "quit from the console (Ctrl-A x)"); });
      !input) {
    std::fprintf(stderr, "vmm: %s\n", input.error().message().c_str());
    return kExitError;
  }
  for (size_t i = 0; i < vcpus_.size(); ++i) threads_.emplace_back([this, i] { vcpu_loop(i); });
  sigset_t set = control_signals();
  while (true) {
    {
      std::lock_guard lock(exit_mutex_);
      if (exit_status_) break;
    }
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != kWakeSignal) request_exit(kExitSignalBase + sig, fmt::format("stopped by signal {}", strsignal(sig)));
  }
  control_->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (!exit_reason_.empty()) std::fprintf(stderr, "vmm: %s\n", exit_reason_.c_str());
  return *exit_status_;
}

std::string Machine::describe_stop(size_t index, const std::string& what) {
  auto regs = vcpus_[index]->get_regs();
  if (!regs) return fmt::format("{} on vCPU {}", what, index);
  return fmt::format("{} on vCPU {} at RIP {:#x}", what, index, regs->rip);
}

void Machine::handle_io(const exit::Io& io) {
  for (uint32_t k = 0; k < io.count; ++k) {
    auto chunk = io.data.subspan(size_t{k} * io.size, io.size);
    if (io.is_write) {
      pio_.write(io.port, chunk);
    } else {
      pio_.read(io.port, chunk);
    }
  }
}

void Machine::vcpu_loop(size_t index) {
  control_->register_thread(index);
  Vcpu& vcpu = *vcpus_[index];
  while (true) {
    auto result = vcpu.run();
    if (!result) {
      request_exit(kExitError, result.error().message());
      if (!control_->checkpoint(index)) break;
      continue;
    }
    bool keep_going = std::visit(
        Overloaded{
            [&](const exit::Io& io) {
              handle_io(io);
              return true;
            },
            [&](const exit::Mmio& mmio) {
              if (mmio.is_write) {
                mmio_.write(mmio.gpa, mmio.data);
              } else {
                mmio_.read(mmio.gpa, mmio.data);
              }
              return true;
            },
            [&](const exit::Hlt&) { return true; },  // the in-kernel LAPIC handles HLT
            [&](const exit::Interrupted&) { return control_->checkpoint(index); },
            [&](const exit::Shutdown&) {
              request_exit(kExitTripleFault, describe_stop(index, "guest triple fault (KVM_EXIT_SHUTDOWN)"));
              return true;
            },
            [&](const exit::SystemEvent& e) {
              if (e.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
                request_exit(kExitPoweroff, "guest powered off");
              } else if (e.type == KVM_SYSTEM_EVENT_RESET) {
                request_exit(kExitGuestReset, describe_stop(index, "guest requested a reset"));
              } else {
                request_exit(kExitKvmError, describe_stop(index, fmt::format("guest system event {}", e.type)));
              }
              return true;
            },
            [&](const exit::InternalError& e) {
              const char* kind = e.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "";
              request_exit(kExitKvmError,
                           describe_stop(index, fmt::format("KVM internal error, suberror {}{}", e.suberror, kind)));
              return true;
            },
            [&](const exit::FailEntry& e) {
              request_exit(kExitKvmError,
                           describe_stop(index, fmt::format("KVM entry failure, reason {:#x}", e.reason)));
              return true;
            },
            [&](const exit::Unknown& e) {
              request_exit(kExitKvmError, describe_stop(index, fmt::format("unexpected KVM exit {}", e.reason)));
              return true;
            },
        },
        *result);
    if (!keep_going) break;
  }
  control_->thread_exited(index);
}

}  // namespace vmm::hv
