// Kvm, Vm and Vcpu: RAII owners of the /dev/kvm, VM and vCPU fds with typed
// ioctls. Capabilities the VMM needs are checked once, up front, with a
// message that names the missing one.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hypervisor/base/mapping.h"
#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"
#include "hypervisor/kvm/kvm_abi.h"
#include "hypervisor/kvm/vcpu_exit.h"

namespace vmm::hv {

class Vm;
class Vcpu;

class Kvm {
 public:
  // Opens the device, checks the API version and the capabilities vmm needs.
  static Result<Kvm> open(const std::string& path = "/dev/kvm");

  Result<Vm> create_vm() const;
  int check_extension(long cap) const;
  // The most vCPUs one VM may have (KVM_CAP_MAX_VCPUS, else NR_VCPUS).
  int max_vcpus() const;
  Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  Result<std::vector<uint32_t>> msr_index_list() const;
  size_t vcpu_mmap_size() const { return vcpu_mmap_size_; }
  int fd() const { return fd_.get(); }

 private:
  explicit Kvm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  size_t vcpu_mmap_size_ = 0;
};

class Vm {
 public:
  Result<void> set_user_memory_region(uint32_t slot, uint64_t gpa, uint64_t size, void* host, uint32_t flags = 0);
  Result<void> set_tss_addr(uint64_t addr);
  Result<void> set_identity_map_addr(uint64_t addr);
  // The in-kernel PIC pair, IOAPIC and LAPICs, and the PIT.
  Result<void> create_irqchip();
  Result<void> create_pit2();
  Result<void> irq_line(uint32_t gsi, bool level);
  // chip: KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE or KVM_IRQCHIP_IOAPIC.
  Result<kvm_irqchip> get_irqchip(uint32_t chip) const;
  Result<void> set_irqchip(const kvm_irqchip& chip);
  Result<kvm_pit_state2> get_pit2() const;
  Result<void> set_pit2(const kvm_pit_state2& pit);
  Result<kvm_clock_data> get_clock() const;
  Result<void> set_clock(const kvm_clock_data& clock);
  Result<Vcpu> create_vcpu(uint32_t id, size_t mmap_size);
  int fd() const { return fd_.get(); }

 private:
  friend class Kvm;
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

class Vcpu {
 public:
  uint32_t id() const { return id_; }

  // One KVM_RUN. EINTR (a kick) is not an error: it yields exit::Interrupted.
  Result<VcpuExit> run();
  // Makes the next KVM_RUN return EINTR at once, after completing pending
  // I/O, so state read afterwards is consistent. Safe from other threads.
  void set_immediate_exit(bool on);

  Result<kvm_regs> get_regs() const;
  Result<void> set_regs(const kvm_regs& regs);
  Result<kvm_sregs> get_sregs() const;
  Result<void> set_sregs(const kvm_sregs& sregs);
  Result<kvm_fpu> get_fpu() const;
  Result<void> set_fpu(const kvm_fpu& fpu);
  Result<kvm_lapic_state> get_lapic() const;
  Result<void> set_lapic(const kvm_lapic_state& lapic);
  Result<std::vector<kvm_cpuid_entry2>> get_cpuid() const;
  Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
  // Reads as many of `indices` as KVM returns, in order; the count tells
  // where KVM stopped (an MSR it cannot read).
  Result<std::vector<std::pair<uint32_t, uint64_t>>> get_msrs(const std::vector<uint32_t>& indices) const;
  Result<void> set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs);
  Result<abi::XsaveRegion> get_xsave() const;
  Result<void> set_xsave(const abi::XsaveRegion& xsave);
  Result<kvm_xcrs> get_xcrs() const;
  Result<void> set_xcrs(const kvm_xcrs& xcrs);
  Result<kvm_debugregs> get_debugregs() const;
  Result<void> set_debugregs(const kvm_debugregs& regs);
  Result<kvm_vcpu_events> get_vcpu_events() const;
  Result<void> set_vcpu_events(const kvm_vcpu_events& events);
  Result<kvm_mp_state> get_mp_state() const;
  Result<void> set_mp_state(const kvm_mp_state& state);
  // The guest TSC frequency in kHz.
  Result<uint32_t> get_tsc_khz() const;
  // Tells a kvmclock guest it was paused (no soft-lockup warnings); fails
  // harmlessly when the guest does not use kvmclock.
  Result<void> kvmclock_ctrl();

 private:
  friend class Vm;
  Vcpu(uint32_t id, UniqueFd fd, Mapping run) : id_(id), fd_(std::move(fd)), run_(std::move(run)) {}
  VcpuExit parse_exit();
  kvm_run* run_struct() const { return reinterpret_cast<kvm_run*>(run_.data()); }

  uint32_t id_;
  UniqueFd fd_;
  Mapping run_;
};

}  // namespace vmm::hv
