// The CPUID table one vCPU gets (KVM_SET_CPUID2), derived from what KVM
// supports (KVM_GET_SUPPORTED_CPUID). A pure transformation: KVM reports the
// host's identity and no topology, so each vCPU needs its own APIC id and a
// topology that matches the MP table (one socket, `count` cores, one thread
// per core, APIC id = vCPU index). Everything else is passed through as KVM
// reported it, including the KVM leaves 0x40000000+ ("KVMKVMKVM\0\0\0"),
// power management (leaf 6) and the PMU (leaf 0xA); no leaf is dropped.
//
// What changes (Intel SDM Vol. 2A, CPUID; AMD APM Vol. 3, Appendix E):
//   leaf 1:    EBX[31:24] initial APIC id; EBX[23:16] addressable logical
//              processor ids (the power of two >= count, at most 255);
//              EBX[15:8] CLFLUSH line size 64 if KVM left it 0;
//              EDX[28] HTT when count > 1; ECX[31] hypervisor present.
//   leaf 4:    EAX[31:26] addressable core ids - 1; EAX[25:14] logical
//              processors sharing the cache - 1 (private L1/L2, shared L3+).
//   leaf 0xB,  (when KVM reports them) rebuilt: subleaf 0 = SMT level,
//   0x1F:      1 thread; subleaf 1 = core level, `count` processors; then an
//              invalid level; EDX = x2APIC id on every subleaf.
//   AMD only:  0x80000001 ECX[1] CmpLegacy when count > 1; 0x80000008
//              ECX[7:0] cores - 1 and ECX[15:12] APIC id size;
//              0x8000001E extended APIC id and core id.
// The same rules Firecracker calls "CPUID normalization"
// (FC:docs/cpu_templates/cpuid-normalization.md), minus its feature masking:
// which features a guest sees is a CPU-template decision made elsewhere.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

namespace vmm::hv::boot {

// The table for vCPU `index` of `count` (index < count, checked). Counts
// above 255 need x2APIC ids; leaf 1 then carries only the low 8 bits, as on
// hardware.
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::span<const kvm_cpuid_entry2> supported, uint32_t index,
                                         uint32_t count);

// Bits of the APIC id that number the cores: ceil(log2(count)).
uint32_t core_id_bits(uint32_t count);

constexpr uint32_t kCpuid1EcxHypervisor = 1u << 31;
constexpr uint32_t kCpuid1EdxHtt = 1u << 28;
constexpr uint32_t kCpuidLevelTypeSmt = 1;
constexpr uint32_t kCpuidLevelTypeCore = 2;

}  // namespace vmm::hv::boot
