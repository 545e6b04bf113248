#include "hypervisor/kvm/vcpu_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace vmm::hv {
namespace {

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrTscDeadline = 0x6e0;
// The KVM paravirtual MSRs the KVM API documents (wall clock, kvmclock, async
// PF, steal time, PV EOI, poll control, async PF interrupt and ack, migration
// control). Not the whole 0x4b564dxx range: hypervisor variants put their own
// MSRs there (PVM's read but refuse writes), which would make every restore fail.
constexpr uint32_t kKvmPvFirst = 0x4b564d00, kKvmPvLast = 0x4b564d08;
// MTRRs: variable ranges, fixed ranges and the default type. KVM's index
// list omits them, yet the guest programs them early in boot (CH#7944).
constexpr uint32_t kMtrrs[] = {0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, 0x208, 0x209, 0x20a,
                               0x20b, 0x20c, 0x20d, 0x20e, 0x20f, 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
                               0x26b, 0x26c, 0x26d, 0x26e, 0x26f, 0x2ff};

SegmentState to_state(const kvm_segment& k) {
  return SegmentState{k.base, k.limit, k.selector, k.type, k.present, k.dpl, k.db, k.s, k.l, k.g, k.avl, k.unusable};
}
kvm_segment to_kvm(const SegmentState& s) {
  kvm_segment k{};
  k.base = s.base, k.limit = s.limit, k.selector = s.selector, k.type = s.type, k.present = s.present;
  k.dpl = s.dpl, k.db = s.db, k.s = s.s, k.l = s.l, k.g = s.g, k.avl = s.avl, k.unusable = s.unusable;
  return k;
}

// kvm_sregs' segments in a fixed order, so save and restore agree.
std::array<kvm_segment*, 8> segments_of(kvm_sregs& s) { return {&s.cs, &s.ds, &s.es, &s.fs, &s.gs, &s.ss, &s.tr, &s.ldt}; }

// kvm_regs is 18 consecutive u64 (rax..r15, rip, rflags).
static_assert(sizeof(kvm_regs) == 18 * sizeof(uint64_t));

EventsState to_state(const kvm_vcpu_events& e) {
  EventsState s;
  s.exception_injected = e.exception.injected, s.exception_nr = e.exception.nr;
  s.exception_has_error_code = e.exception.has_error_code, s.exception_pending = e.exception.pending;
  s.exception_error_code = e.exception.error_code;
  s.interrupt_injected = e.interrupt.injected, s.interrupt_nr = e.interrupt.nr;
  s.interrupt_soft = e.interrupt.soft, s.interrupt_shadow = e.interrupt.shadow;
  s.nmi_injected = e.nmi.injected, s.nmi_pending = e.nmi.pending, s.nmi_masked = e.nmi.masked;
  s.sipi_vector = e.sipi_vector, s.flags = e.flags;
  s.smi_smm = e.smi.smm, s.smi_pending = e.smi.pending, s.smi_inside_nmi = e.smi.smm_inside_nmi;
  s.smi_latched_init = e.smi.latched_init, s.triple_fault_pending = e.triple_fault.pending;
  s.exception_has_payload = e.exception_has_payload, s.exception_payload = e.exception_payload;
  return s;
}
kvm_vcpu_events to_kvm(const EventsState& s) {
  kvm_vcpu_events e{};
  e.exception.injected = s.exception_injected, e.exception.nr = s.exception_nr;
  e.exception.has_error_code = s.exception_has_error_code, e.exception.pending = s.exception_pending;
  e.exception.error_code = s.exception_error_code;
  e.interrupt.injected = s.interrupt_injected, e.interrupt.nr = s.interrupt_nr;
  e.interrupt.soft = s.interrupt_soft, e.interrupt.shadow = s.interrupt_shadow;
  e.nmi.injected = s.nmi_injected, e.nmi.pending = s.nmi_pending, e.nmi.masked = s.nmi_masked;
  e.sipi_vector = s.sipi_vector, e.flags = s.flags;
  e.smi.smm = s.smi_smm, e.smi.pending = s.smi_pending, e.smi.smm_inside_nmi = s.smi_inside_nmi;
  e.smi.latched_init = s.smi_latched_init, e.triple_fault.pending = s.triple_fault_pending;
  e.exception_has_payload = s.exception_has_payload, e.exception_payload = s.exception_payload;
  return e;
}

}  // namespace

Result<void> validate_vcpu_state(const VcpuState& s) {
  auto bad = [](std::string what) { return Error::make(Errc::kBadSnapshot, "vCPU state: " + what); };
  if (s.mp_state > KVM_MP_STATE_AP_RESET_HOLD) return bad(fmt::format("mp_state {} is unknown", s.mp_state));
  if (s.cpuid.empty()) return bad("no CPUID entries");
  for (const auto& x : s.xcrs) {
    if (x.index != 0) return bad(fmt::format("XCR{} is unknown", x.index));
  }
  for (const auto& e : s.cpuid) {
    if (e.flags & ~uint32_t{KVM_CPUID_FLAG_SIGNIFCANT_INDEX | KVM_CPUID_FLAG_STATEFUL_FUNC | KVM_CPUID_FLAG_STATE_READ_NEXT}) {
      return bad(fmt::format("CPUID leaf {:#x} has unknown flags {:#x}", e.function, e.flags));
    }
  }
  return {};
}

Result<std::vector<uint32_t>> saveable_msrs(const Kvm& kvm, const Vcpu& vcpu) {
  std::set<uint32_t> wanted;
  for (uint32_t i : VMM_TRY(kvm.msr_index_list())) wanted.insert(i);
  for (uint32_t i = kKvmPvFirst; i <= kKvmPvLast; ++i) wanted.insert(i);
  for (uint32_t i : kMtrrs) wanted.insert(i);
  // KVM_GET_MSRS stops at the first MSR it cannot read: drop that one and
  // go on from there until the rest reads in one go.
  std::vector<uint32_t> candidates(wanted.begin(), wanted.end());
  std::vector<uint32_t> readable;
  size_t start = 0;
  while (start < candidates.size()) {
    std::vector<uint32_t> rest(candidates.begin() + static_cast<long>(start), candidates.end());
    auto got = VMM_TRY(vcpu.get_msrs(rest));
    for (auto& [index, value] : got) readable.push_back(index);
    start += got.size() + 1;  // skip the one KVM refused
  }
  return readable;
}

Result<VcpuState> capture_vcpu_state(const Vcpu& vcpu, const std::vector<uint32_t>& msr_indices) {
  VcpuState s;
  // MP state first: reading it may process a pending INIT/SIPI into the LAPIC.
  s.mp_state = VMM_TRY(vcpu.get_mp_state()).mp_state;
  for (const auto& e : VMM_TRY(vcpu.get_cpuid())) {
    s.cpuid.push_back(CpuidEntryState{e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx});
  }
  kvm_regs regs = VMM_TRY(vcpu.get_regs());
  std::memcpy(s.regs.data(), &regs, sizeof regs);
  kvm_sregs sregs = VMM_TRY(vcpu.get_sregs());
  auto segs = segments_of(sregs);
  for (size_t i = 0; i < segs.size(); ++i) s.sregs.segments[i] = to_state(*segs[i]);
  s.sregs.gdt = DtableState{sregs.gdt.base, sregs.gdt.limit};
  s.sregs.idt = DtableState{sregs.idt.base, sregs.idt.limit};
  s.sregs.cr0 = sregs.cr0, s.sregs.cr2 = sregs.cr2, s.sregs.cr3 = sregs.cr3, s.sregs.cr4 = sregs.cr4;
  s.sregs.cr8 = sregs.cr8, s.sregs.efer = sregs.efer, s.sregs.apic_base = sregs.apic_base;
  std::copy(std::begin(sregs.interrupt_bitmap), std::end(sregs.interrupt_bitmap), s.sregs.interrupt_bitmap.begin());
  auto xsave = VMM_TRY(vcpu.get_xsave());
  std::copy(std::begin(xsave.region), std::end(xsave.region), s.xsave.begin());
  kvm_xcrs xcrs = VMM_TRY(vcpu.get_xcrs());
  for (uint32_t i = 0; i < std::min<uint32_t>(xcrs.nr_xcrs, KVM_MAX_XCRS); ++i) {
    s.xcrs.push_back(IndexedValue{xcrs.xcrs[i].xcr, xcrs.xcrs[i].value});
  }
  kvm_debugregs dbg = VMM_TRY(vcpu.get_debugregs());
  std::copy(std::begin(dbg.db), std::end(dbg.db), s.db.begin());
  s.dr6 = dbg.dr6, s.dr7 = dbg.dr7;
  kvm_lapic_state lapic = VMM_TRY(vcpu.get_lapic());
  std::memcpy(s.lapic.data(), lapic.regs, s.lapic.size());
  auto msrs = VMM_TRY(vcpu.get_msrs(msr_indices));
  if (msrs.size() != msr_indices.size()) {
    return Error::make(Errc::kUnsupported, fmt::format("KVM_GET_MSRS stopped at MSR {:#x}", msr_indices[msrs.size()]));
  }
  for (auto& [index, value] : msrs) s.msrs.push_back(IndexedValue{index, value});
  s.events = to_state(VMM_TRY(vcpu.get_vcpu_events()));
  return s;
}

Result<void> restore_vcpu_state(Vcpu& vcpu, const VcpuState& s) {
  VMM_TRY(validate_vcpu_state(s));
  std::vector<kvm_cpuid_entry2> cpuid;
  for (const auto& e : s.cpuid) {
    kvm_cpuid_entry2 k{};
    k.function = e.function, k.index = e.index, k.flags = e.flags;
    k.eax = e.eax, k.ebx = e.ebx, k.ecx = e.ecx, k.edx = e.edx;
    cpuid.push_back(k);
  }
  VMM_TRY(vcpu.set_cpuid(cpuid));
  VMM_TRY(vcpu.set_mp_state(kvm_mp_state{s.mp_state}));
  kvm_regs regs;
  std::memcpy(&regs, s.regs.data(), sizeof regs);
  VMM_TRY(vcpu.set_regs(regs));
  kvm_sregs sregs{};
  auto segs = segments_of(sregs);
  for (size_t i = 0; i < segs.size(); ++i) *segs[i] = to_kvm(s.sregs.segments[i]);
  sregs.gdt.base = s.sregs.gdt.base, sregs.gdt.limit = s.sregs.gdt.limit;
  sregs.idt.base = s.sregs.idt.base, sregs.idt.limit = s.sregs.idt.limit;
  sregs.cr0 = s.sregs.cr0, sregs.cr2 = s.sregs.cr2, sregs.cr3 = s.sregs.cr3, sregs.cr4 = s.sregs.cr4;
  sregs.cr8 = s.sregs.cr8, sregs.efer = s.sregs.efer, sregs.apic_base = s.sregs.apic_base;
  std::copy(s.sregs.interrupt_bitmap.begin(), s.sregs.interrupt_bitmap.end(), std::begin(sregs.interrupt_bitmap));
  VMM_TRY(vcpu.set_sregs(sregs));
  abi::XsaveRegion xsave;
  std::copy(s.xsave.begin(), s.xsave.end(), std::begin(xsave.region));
  VMM_TRY(vcpu.set_xsave(xsave));
  kvm_xcrs xcrs{};
  xcrs.nr_xcrs = static_cast<uint32_t>(s.xcrs.size());
  for (size_t i = 0; i < s.xcrs.size(); ++i) xcrs.xcrs[i].xcr = s.xcrs[i].index, xcrs.xcrs[i].value = s.xcrs[i].value;
  VMM_TRY(vcpu.set_xcrs(xcrs));
  kvm_debugregs dbg{};
  std::copy(s.db.begin(), s.db.end(), std::begin(dbg.db));
  dbg.dr6 = s.dr6, dbg.dr7 = s.dr7;
  VMM_TRY(vcpu.set_debugregs(dbg));
  // The LAPIC after SREGS (which sets the APIC base) and before the MSRs
  // (TSC_DEADLINE arms the LAPIC timer).
  kvm_lapic_state lapic{};
  std::memcpy(lapic.regs, s.lapic.data(), s.lapic.size());
  VMM_TRY(vcpu.set_lapic(lapic));
  // TSC first so that TSC_DEADLINE, written last, is relative to it.
  std::vector<std::pair<uint32_t, uint64_t>> msrs;
  for (const auto& m : s.msrs) {
    if (m.index == kMsrTsc) msrs.insert(msrs.begin(), {m.index, m.value});
  }
  for (const auto& m : s.msrs) {
    if (m.index != kMsrTsc && m.index != kMsrTscDeadline) msrs.emplace_back(m.index, m.value);
  }
  for (const auto& m : s.msrs) {
    if (m.index == kMsrTscDeadline) msrs.emplace_back(m.index, m.value);
  }
  VMM_TRY(vcpu.set_msrs(msrs));
  // Events last: SET_REGS and SET_SREGS clear pending exceptions.
  kvm_vcpu_events events = to_kvm(s.events);
  events.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
                  KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
  events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW;
  VMM_TRY(vcpu.set_vcpu_events(events));
  return {};
}

}  // namespace vmm::hv
