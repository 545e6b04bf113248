// VcpuState: everything a guest can observe of one vCPU, as KVM holds it —
// CPUID, MP state, general and special registers, XSAVE, XCRs, debug
// registers, the local APIC, MSRs and pending events — in the canonical
// archive encoding (snapshot/archive.h). capture() reads it in the order KVM
// needs (MP state first: reading it may update the LAPIC) and restore() writes
// it in the order the Firecracker and QEMU experience documents (CPUID
// first, LAPIC after SREGS, TSC before TSC_DEADLINE, events last).
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/kvm/kvm.h"

namespace vmm::hv {

struct CpuidEntryState {
  uint32_t function = 0, index = 0, flags = 0, eax = 0, ebx = 0, ecx = 0, edx = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("function", function), ar.field("index", index), ar.field("flags", flags);
    ar.field("eax", eax), ar.field("ebx", ebx), ar.field("ecx", ecx), ar.field("edx", edx);
  }
};

// An indexed register: an MSR or an extended control register.
struct IndexedValue {
  uint32_t index = 0;
  uint64_t value = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("index", index), ar.field("value", value);
  }
};

struct SegmentState {
  uint64_t base = 0;
  uint32_t limit = 0;
  uint16_t selector = 0;
  uint8_t type = 0, present = 0, dpl = 0, db = 0, s = 0, l = 0, g = 0, avl = 0, unusable = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("base", base), ar.field("limit", limit), ar.field("selector", selector);
    ar.field("type", type), ar.field("present", present), ar.field("dpl", dpl), ar.field("db", db);
    ar.field("s", s), ar.field("l", l), ar.field("g", g), ar.field("avl", avl), ar.field("unusable", unusable);
  }
};

struct DtableState {
  uint64_t base = 0;
  uint16_t limit = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("base", base), ar.field("limit", limit);
  }
};

struct SregsState {
  std::array<SegmentState, 8> segments{};  // cs ds es fs gs ss tr ldt
  DtableState gdt, idt;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0, apic_base = 0;
  std::array<uint64_t, 4> interrupt_bitmap{};
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("segments", segments), ar.field("gdt", gdt), ar.field("idt", idt);
    ar.field("cr0", cr0), ar.field("cr2", cr2), ar.field("cr3", cr3), ar.field("cr4", cr4);
    ar.field("cr8", cr8), ar.field("efer", efer), ar.field("apic_base", apic_base);
    ar.field("interrupt_bitmap", interrupt_bitmap);
  }
};

struct EventsState {
  uint8_t exception_injected = 0, exception_nr = 0, exception_has_error_code = 0, exception_pending = 0;
  uint32_t exception_error_code = 0;
  uint8_t interrupt_injected = 0, interrupt_nr = 0, interrupt_soft = 0, interrupt_shadow = 0;
  uint8_t nmi_injected = 0, nmi_pending = 0, nmi_masked = 0;
  uint32_t sipi_vector = 0, flags = 0;
  uint8_t smi_smm = 0, smi_pending = 0, smi_inside_nmi = 0, smi_latched_init = 0;
  uint8_t triple_fault_pending = 0, exception_has_payload = 0;
  uint64_t exception_payload = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("exception_injected", exception_injected), ar.field("exception_nr", exception_nr);
    ar.field("exception_has_error_code", exception_has_error_code);
    ar.field("exception_pending", exception_pending), ar.field("exception_error_code", exception_error_code);
    ar.field("interrupt_injected", interrupt_injected), ar.field("interrupt_nr", interrupt_nr);
    ar.field("interrupt_soft", interrupt_soft), ar.field("interrupt_shadow", interrupt_shadow);
    ar.field("nmi_injected", nmi_injected), ar.field("nmi_pending", nmi_pending), ar.field("nmi_masked", nmi_masked);
    ar.field("sipi_vector", sipi_vector), ar.field("flags", flags);
    ar.field("smi_smm", smi_smm), ar.field("smi_pending", smi_pending);
    ar.field("smi_inside_nmi", smi_inside_nmi), ar.field("smi_latched_init", smi_latched_init);
    ar.field("triple_fault_pending", triple_fault_pending);
    ar.field("exception_has_payload", exception_has_payload), ar.field("exception_payload", exception_payload);
  }
};

struct VcpuState {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMaxCpuidEntries = 1024;
  static constexpr size_t kMaxMsrs = 4096;

  std::vector<CpuidEntryState> cpuid;
  uint32_t mp_state = 0;
  std::array<uint64_t, 18> regs{};  // kvm_regs order: rax..r15, rip, rflags
  SregsState sregs;
  std::array<uint32_t, 1024> xsave{};
  std::vector<IndexedValue> xcrs;
  std::array<uint64_t, 4> db{};
  uint64_t dr6 = 0, dr7 = 0;
  std::array<uint8_t, KVM_APIC_REG_SIZE> lapic{};
  std::vector<IndexedValue> msrs;
  EventsState events;

  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.vector("cpuid", cpuid, kMaxCpuidEntries);
    ar.field("mp_state", mp_state);
    ar.field("regs", regs);
    ar.field("sregs", sregs);
    ar.field("xsave", xsave);
    ar.vector("xcrs", xcrs, KVM_MAX_XCRS);
    ar.field("db", db), ar.field("dr6", dr6), ar.field("dr7", dr7);
    ar.field("lapic", lapic);
    ar.vector("msrs", msrs, kMaxMsrs);
    ar.field("events", events);
  }
};

// Checks a decoded state against KVM's limits before anything is written.
Result<void> validate_vcpu_state(const VcpuState& state);

// The MSRs worth saving on this host: KVM's index list plus the KVM
// paravirtual range and the MTRRs (absent from KVM's list, yet guest-visible),
// minus any that this vCPU cannot read.
Result<std::vector<uint32_t>> saveable_msrs(const Kvm& kvm, const Vcpu& vcpu);

Result<VcpuState> capture_vcpu_state(const Vcpu& vcpu, const std::vector<uint32_t>& msr_indices);
Result<void> restore_vcpu_state(Vcpu& vcpu, const VcpuState& state);

}  // namespace vmm::hv
