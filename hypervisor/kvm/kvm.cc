#include "hypervisor/kvm/kvm.h"

#include "hypervisor/kvm/kvm_abi.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <atomic>
#include <memory>

namespace vmm::hv {
namespace {

// ioctl that retries on EINTR (not for KVM_RUN, where EINTR means a kick).
int xioctl(int fd, unsigned long request, auto arg) {
  int r;
  do {
    r = ::ioctl(fd, request, arg);
  } while (r < 0 && errno == EINTR);
  return r;
}

struct RequiredCap {
  long cap;
  const char* name;
};
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

}  // namespace

Result<Kvm> Kvm::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string hint = err == ENOENT   ? " (is the kvm module loaded?)"
                       : err == EACCES ? " (add yourself to the kvm group or run as root)"
                                       : "";
    return Error::sys(err, "open " + path).context("KVM unavailable" + hint);
  }
  Kvm kvm{UniqueFd(fd)};
  int version = ::ioctl(fd, KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION) {
    return Error::make(Errc::kUnsupported, fmt::format("KVM API version {} (need {})", version, KVM_API_VERSION));
  }
  for (const auto& c : kRequiredCaps) {
    if (kvm.check_extension(c.cap) <= 0) {
      return Error::make(Errc::kUnsupported, fmt::format("KVM lacks {}, which vmm needs", c.name));
    }
  }
  int size = ::ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (size < static_cast<int>(sizeof(kvm_run))) return Error::sys(errno, "KVM_GET_VCPU_MMAP_SIZE");
  kvm.vcpu_mmap_size_ = static_cast<size_t>(size);
  return kvm;
}

int Kvm::check_extension(long cap) const { return ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap); }

int Kvm::max_vcpus() const {
  int n = check_extension(KVM_CAP_MAX_VCPUS);
  if (n <= 0) n = check_extension(KVM_CAP_NR_VCPUS);
  return n > 0 ? n : 4;  // the KVM API documents 4 when neither is reported
}

Result<Vm> Kvm::create_vm() const {
  int fd = xioctl(fd_.get(), KVM_CREATE_VM, 0);
  if (fd < 0) return Error::sys(errno, "KVM_CREATE_VM");
  return Vm(UniqueFd(fd));
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
  // Grow until KVM stops answering E2BIG.
  for (uint32_t n = 128; n <= 4096; n *= 2) {
    abi::VarBuffer<abi::Cpuid2Header, kvm_cpuid_entry2> buf(n);
    buf.header().nent = n;
    if (xioctl(fd_.get(), abi::kGetSupportedCpuid, buf.data()) == 0) {
      uint32_t got = std::min(buf.header().nent, n);
      return std::vector<kvm_cpuid_entry2>(buf.elements(), buf.elements() + got);
    }
    if (errno != E2BIG) return Error::sys(errno, "KVM_GET_SUPPORTED_CPUID");
  }
  return Error::make(Errc::kUnsupported, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

Result<std::vector<uint32_t>> Kvm::msr_index_list() const {
  abi::MsrListHeader probe{0};
  if (xioctl(fd_.get(), abi::kGetMsrIndexList, &probe) < 0 && errno != E2BIG) {
    return Error::sys(errno, "KVM_GET_MSR_INDEX_LIST");
  }
  uint32_t n = probe.nmsrs;
  if (n > 65536) return Error::make(Errc::kUnsupported, "KVM_GET_MSR_INDEX_LIST: absurd count");
  abi::VarBuffer<abi::MsrListHeader, uint32_t> buf(n);
  buf.header().nmsrs = n;
  if (xioctl(fd_.get(), abi::kGetMsrIndexList, buf.data()) < 0) return Error::sys(errno, "KVM_GET_MSR_INDEX_LIST");
  uint32_t got = std::min(buf.header().nmsrs, n);
  return std::vector<uint32_t>(buf.elements(), buf.elements() + got);
}

Result<void> Vm::set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host, uint32_t flags) {
  kvm_userspace_memory_region region{slot, flags, gpa, size, reinterpret_cast<uint64_t>(host)};
  if (xioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
    return Error::sys(errno, fmt::format("KVM_SET_USER_MEMORY_REGION slot {} at {:#x}", slot, gpa));
  }
  return {};
}

Result<void> Vm::set_tss_addr(uint64_t addr) {
  if (xioctl(fd_.get(), KVM_SET_TSS_ADDR, addr) < 0) return Error::sys(errno, "KVM_SET_TSS_ADDR");
  return {};
}

Result<void> Vm::set_identity_map_addr(uint64_t addr) {
  if (xioctl(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) return Error::sys(errno, "KVM_SET_IDENTITY_MAP_ADDR");
  return {};
}

Result<void> Vm::create_irqchip() {
  if (xioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return Error::sys(errno, "KVM_CREATE_IRQCHIP");
  return {};
}

Result<void> Vm::create_pit2() {
  // A dummy speaker port: port 0x61 reads reflect the PIT channel 2 gate and
  // output, which Linux uses for calibration, without host sound.
  kvm_pit_config config{};
  config.flags = KVM_PIT_SPEAKER_DUMMY;
  if (xioctl(fd_.get(), KVM_CREATE_PIT2, &config) < 0) return Error::sys(errno, "KVM_CREATE_PIT2");
  return {};
}

Result<void> Vm::irq_line(uint32_t gsi, bool level) {
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (xioctl(fd_.get(), KVM_IRQ_LINE, &irq) < 0) return Error::sys(errno, fmt::format("KVM_IRQ_LINE {}", gsi));
  return {};
}

Result<kvm_irqchip> Vm::get_irqchip(uint32_t chip) const {
  kvm_irqchip state{};
  state.chip_id = chip;
  if (xioctl(fd_.get(), KVM_GET_IRQCHIP, &state) < 0) return Error::sys(errno, fmt::format("KVM_GET_IRQCHIP {}", chip));
  return state;
}
Result<void> Vm::set_irqchip(const kvm_irqchip& chip) {
  if (xioctl(fd_.get(), KVM_SET_IRQCHIP, &chip) < 0) return Error::sys(errno, fmt::format("KVM_SET_IRQCHIP {}", chip.chip_id));
  return {};
}
Result<kvm_pit_state2> Vm::get_pit2() const {
  kvm_pit_state2 pit{};
  if (xioctl(fd_.get(), KVM_GET_PIT2, &pit) < 0) return Error::sys(errno, "KVM_GET_PIT2");
  return pit;
}
Result<void> Vm::set_pit2(const kvm_pit_state2& pit) {
  if (xioctl(fd_.get(), KVM_SET_PIT2, &pit) < 0) return Error::sys(errno, "KVM_SET_PIT2");
  return {};
}
Result<kvm_clock_data> Vm::get_clock() const {
  kvm_clock_data clock{};
  if (xioctl(fd_.get(), KVM_GET_CLOCK, &clock) < 0) return Error::sys(errno, "KVM_GET_CLOCK");
  return clock;
}
Result<void> Vm::set_clock(const kvm_clock_data& clock) {
  if (xioctl(fd_.get(), KVM_SET_CLOCK, &clock) < 0) return Error::sys(errno, "KVM_SET_CLOCK");
  return {};
}

Result<Vcpu> Vm::create_vcpu(uint32_t id, size_t mmap_size) {
  int fd = xioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (fd < 0) return Error::sys(errno, fmt::format("KVM_CREATE_VCPU {}", id));
  UniqueFd owned(fd);
  auto run = VMM_TRY(Mapping::map(mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  return Vcpu(id, std::move(owned), std::move(run));
}

void Vcpu::set_immediate_exit(bool on) {
  // kvm_run is shared with the kernel and other threads: write through an
  // atomic_ref so the store is neither torn nor reordered past the kick.
  std::atomic_ref<uint8_t>(run_struct()->immediate_exit).store(on ? 1 : 0, std::memory_order_seq_cst);
}

Result<VcpuExit> Vcpu::run() {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) {
    if (errno == EINTR || errno == EAGAIN) return VcpuExit{exit::Interrupted{}};
    return Error::sys(errno, fmt::format("KVM_RUN on vCPU {}", id_));
  }
  return parse_exit();
}

VcpuExit Vcpu::parse_exit() {
  kvm_run* r = run_struct();
  switch (r->exit_reason) {
    case KVM_EXIT_IO: {
      uint64_t bytes = uint64_t{r->io.size} * r->io.count;
      // The data lies inside the kvm_run mapping; anything else is a KVM bug
      // we refuse to follow.
      if (r->io.data_offset > run_.size() || bytes > run_.size() - r->io.data_offset ||
          (r->io.size != 1 && r->io.size != 2 && r->io.size != 4)) {
        return exit::Unknown{r->exit_reason};
      }
      return exit::Io{r->io.port, r->io.size, r->io.count, r->io.direction == KVM_EXIT_IO_OUT,
                      std::span<uint8_t>(run_.data() + r->io.data_offset, bytes)};
    }
    case KVM_EXIT_MMIO:
      if (r->mmio.len > sizeof r->mmio.data) return exit::Unknown{r->exit_reason};
      return exit::Mmio{r->mmio.phys_addr, r->mmio.is_write != 0, std::span<uint8_t>(r->mmio.data, r->mmio.len)};
    case KVM_EXIT_HLT:
      return exit::Hlt{};
    case KVM_EXIT_SHUTDOWN:
      return exit::Shutdown{};
    case KVM_EXIT_SYSTEM_EVENT:
      return exit::SystemEvent{r->system_event.type};
    case KVM_EXIT_INTERNAL_ERROR:
      return exit::InternalError{r->internal.suberror};
    case KVM_EXIT_FAIL_ENTRY:
      return exit::FailEntry{r->fail_entry.hardware_entry_failure_reason};
    case KVM_EXIT_INTR:
      return exit::Interrupted{};
    default:
      return exit::Unknown{r->exit_reason};
  }
}

Result<kvm_regs> Vcpu::get_regs() const {
  kvm_regs regs{};
  if (xioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) return Error::sys(errno, "KVM_GET_REGS");
  return regs;
}
Result<void> Vcpu::set_regs(const kvm_regs& regs) {
  if (xioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) return Error::sys(errno, "KVM_SET_REGS");
  return {};
}
Result<kvm_sregs> Vcpu::get_sregs() const {
  kvm_sregs sregs{};
  if (xioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) return Error::sys(errno, "KVM_GET_SREGS");
  return sregs;
}
Result<void> Vcpu::set_sregs(const kvm_sregs& sregs) {
  if (xioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) return Error::sys(errno, "KVM_SET_SREGS");
  return {};
}
Result<kvm_fpu> Vcpu::get_fpu() const {
  kvm_fpu fpu{};
  if (xioctl(fd_.get(), KVM_GET_FPU, &fpu) < 0) return Error::sys(errno, "KVM_GET_FPU");
  return fpu;
}
Result<void> Vcpu::set_fpu(const kvm_fpu& fpu) {
  if (xioctl(fd_.get(), KVM_SET_FPU, &fpu) < 0) return Error::sys(errno, "KVM_SET_FPU");
  return {};
}
Result<kvm_lapic_state> Vcpu::get_lapic() const {
  kvm_lapic_state lapic{};
  if (xioctl(fd_.get(), KVM_GET_LAPIC, &lapic) < 0) return Error::sys(errno, "KVM_GET_LAPIC");
  return lapic;
}
Result<void> Vcpu::set_lapic(const kvm_lapic_state& lapic) {
  if (xioctl(fd_.get(), KVM_SET_LAPIC, &lapic) < 0) return Error::sys(errno, "KVM_SET_LAPIC");
  return {};
}

Result<std::vector<kvm_cpuid_entry2>> Vcpu::get_cpuid() const {
  constexpr uint32_t kMax = 1024;
  abi::VarBuffer<abi::Cpuid2Header, kvm_cpuid_entry2> buf(kMax);
  buf.header().nent = kMax;
  if (xioctl(fd_.get(), abi::kGetCpuid2, buf.data()) < 0) return Error::sys(errno, "KVM_GET_CPUID2");
  uint32_t got = std::min(buf.header().nent, kMax);
  return std::vector<kvm_cpuid_entry2>(buf.elements(), buf.elements() + got);
}

// KVM accepts at most MAX_IO_MSRS (256) MSRs per call.
constexpr size_t kMsrBatch = 240;

Result<std::vector<std::pair<uint32_t, uint64_t>>> Vcpu::get_msrs(const std::vector<uint32_t>& indices) const {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (size_t start = 0; start < indices.size(); start += kMsrBatch) {
    size_t n = std::min(kMsrBatch, indices.size() - start);
    abi::VarBuffer<abi::MsrsHeader, kvm_msr_entry> buf(n);
    buf.header().nmsrs = static_cast<uint32_t>(n);
    for (size_t i = 0; i < n; ++i) buf.elements()[i].index = indices[start + i];
    int got = xioctl(fd_.get(), abi::kGetMsrs, buf.data());
    if (got < 0) return Error::sys(errno, "KVM_GET_MSRS");
    for (int i = 0; i < got && static_cast<size_t>(i) < n; ++i) {
      out.emplace_back(buf.elements()[i].index, buf.elements()[i].data);
    }
    if (static_cast<size_t>(got) < n) break;  // KVM stopped at an MSR it cannot read
  }
  return out;
}

Result<abi::XsaveRegion> Vcpu::get_xsave() const {
  abi::XsaveRegion x{};
  if (xioctl(fd_.get(), abi::kGetXsave, &x) < 0) return Error::sys(errno, "KVM_GET_XSAVE");
  return x;
}
Result<void> Vcpu::set_xsave(const abi::XsaveRegion& x) {
  if (xioctl(fd_.get(), abi::kSetXsave, &x) < 0) return Error::sys(errno, "KVM_SET_XSAVE");
  return {};
}
Result<kvm_xcrs> Vcpu::get_xcrs() const {
  kvm_xcrs x{};
  if (xioctl(fd_.get(), KVM_GET_XCRS, &x) < 0) return Error::sys(errno, "KVM_GET_XCRS");
  return x;
}
Result<void> Vcpu::set_xcrs(const kvm_xcrs& x) {
  if (xioctl(fd_.get(), KVM_SET_XCRS, &x) < 0) return Error::sys(errno, "KVM_SET_XCRS");
  return {};
}
Result<kvm_debugregs> Vcpu::get_debugregs() const {
  kvm_debugregs d{};
  if (xioctl(fd_.get(), KVM_GET_DEBUGREGS, &d) < 0) return Error::sys(errno, "KVM_GET_DEBUGREGS");
  return d;
}
Result<void> Vcpu::set_debugregs(const kvm_debugregs& d) {
  if (xioctl(fd_.get(), KVM_SET_DEBUGREGS, &d) < 0) return Error::sys(errno, "KVM_SET_DEBUGREGS");
  return {};
}
Result<kvm_vcpu_events> Vcpu::get_vcpu_events() const {
  kvm_vcpu_events e{};
  if (xioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &e) < 0) return Error::sys(errno, "KVM_GET_VCPU_EVENTS");
  return e;
}
Result<void> Vcpu::set_vcpu_events(const kvm_vcpu_events& e) {
  if (xioctl(fd_.get(), KVM_SET_VCPU_EVENTS, &e) < 0) return Error::sys(errno, "KVM_SET_VCPU_EVENTS");
  return {};
}
Result<kvm_mp_state> Vcpu::get_mp_state() const {
  kvm_mp_state m{};
  if (xioctl(fd_.get(), KVM_GET_MP_STATE, &m) < 0) return Error::sys(errno, "KVM_GET_MP_STATE");
  return m;
}
Result<void> Vcpu::set_mp_state(const kvm_mp_state& m) {
  if (xioctl(fd_.get(), KVM_SET_MP_STATE, &m) < 0) return Error::sys(errno, "KVM_SET_MP_STATE");
  return {};
}
Result<uint32_t> Vcpu::get_tsc_khz() const {
  int khz = xioctl(fd_.get(), KVM_GET_TSC_KHZ, 0);
  if (khz < 0) return Error::sys(errno, "KVM_GET_TSC_KHZ");
  return static_cast<uint32_t>(khz);
}
Result<void> Vcpu::kvmclock_ctrl() {
  if (xioctl(fd_.get(), KVM_KVMCLOCK_CTRL, 0) < 0) return Error::sys(errno, "KVM_KVMCLOCK_CTRL");
  return {};
}

Result<void> Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  abi::VarBuffer<abi::Cpuid2Header, kvm_cpuid_entry2> buf(entries.size());
  buf.header().nent = static_cast<uint32_t>(entries.size());
  std::copy(entries.begin(), entries.end(), buf.elements());
  if (xioctl(fd_.get(), abi::kSetCpuid2, buf.data()) < 0) return Error::sys(errno, "KVM_SET_CPUID2");
  return {};
}

Result<void> Vcpu::set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs) {
  for (size_t start = 0; start < msrs.size(); start += kMsrBatch) {
    size_t n = std::min(kMsrBatch, msrs.size() - start);
    abi::VarBuffer<abi::MsrsHeader, kvm_msr_entry> buf(n);
    buf.header().nmsrs = static_cast<uint32_t>(n);
    for (size_t i = 0; i < n; ++i) buf.elements()[i] = kvm_msr_entry{msrs[start + i].first, 0, msrs[start + i].second};
    int set = xioctl(fd_.get(), abi::kSetMsrs, buf.data());
    if (set < 0) return Error::sys(errno, "KVM_SET_MSRS");
    // KVM stops at the first MSR it refuses and returns how many it set.
    if (static_cast<size_t>(set) != n) {
      return Error::make(Errc::kUnsupported, fmt::format("KVM_SET_MSRS: KVM refused MSR {:#x}", msrs[start + set].first));
    }
  }
  return {};
}

}  // namespace vmm::hv
