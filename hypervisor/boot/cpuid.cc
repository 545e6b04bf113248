#include "hypervisor/boot/cpuid.h"

#include <algorithm>
#include <cstring>

#include "hypervisor/base/result.h"

namespace vmm::hv::boot {
namespace {

uint32_t set_bits(uint32_t reg, unsigned lo, unsigned width, uint32_t value) {
  const uint32_t mask = (width == 32 ? ~0u : ((1u << width) - 1)) << lo;
  return (reg & ~mask) | ((value << lo) & mask);
}

bool is_amd_like(std::span<const kvm_cpuid_entry2> entries) {
  for (const auto& e : entries) {
    if (e.function != 0) continue;
    char vendor[12];
    std::memcpy(vendor, &e.ebx, 4);
    std::memcpy(vendor + 4, &e.edx, 4);
    std::memcpy(vendor + 8, &e.ecx, 4);
    return std::memcmp(vendor, "AuthenticAMD", 12) == 0 || std::memcmp(vendor, "HygonGenuine", 12) == 0;
  }
  return false;
}

// Leaf 0xB / 0x1F (SDM Vol. 2A, "V2 Extended Topology Enumeration Leaf").
std::vector<kvm_cpuid_entry2> topology_leaf(uint32_t function, uint32_t apic_id, uint32_t count) {
  auto entry = [&](uint32_t subleaf, uint32_t shift, uint32_t processors, uint32_t type) {
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.index = subleaf;
    e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
    e.eax = shift;                    // shift right of the x2APIC id to reach the next level
    e.ebx = processors;               // logical processors at this level
    e.ecx = (type << 8) | subleaf;    // level type, level number
    e.edx = apic_id;
    return e;
  };
  return {
      entry(0, 0, 1, kCpuidLevelTypeSmt),
      entry(1, core_id_bits(count), count, kCpuidLevelTypeCore),
      entry(2, 0, 0, 0),  // first invalid level ends the enumeration
  };
}

}  // namespace

uint32_t core_id_bits(uint32_t count) {
  uint32_t bits = 0;
  while ((1u << bits) < count) ++bits;
  return bits;
}

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::span<const kvm_cpuid_entry2> supported, uint32_t index,
                                         uint32_t count) {
  VMM_CHECK(index < count);
  const uint32_t bits = core_id_bits(count);
  const uint32_t addressable = 1u << bits;
  const bool amd = is_amd_like(supported);

  std::vector<kvm_cpuid_entry2> out;
  bool emitted_0xb = false, emitted_0x1f = false;
  for (const kvm_cpuid_entry2& in : supported) {
    kvm_cpuid_entry2 e = in;
    switch (e.function) {
      case 0x1:
        e.ebx = set_bits(e.ebx, 24, 8, index);
        e.ebx = set_bits(e.ebx, 16, 8, std::min(addressable, 255u));
        if (((e.ebx >> 8) & 0xff) == 0) e.ebx = set_bits(e.ebx, 8, 8, 8);  // 8 x 8 = 64-byte lines
        e.edx = count > 1 ? e.edx | kCpuid1EdxHtt : e.edx & ~kCpuid1EdxHtt;
        e.ecx |= kCpuid1EcxHypervisor;
        break;
      case 0x4:
        if ((e.eax & 0x1f) != 0) {  // cache type 0: no more caches
          const uint32_t level = (e.eax >> 5) & 0x7;
          e.eax = set_bits(e.eax, 26, 6, std::min(addressable - 1, 63u));
          e.eax = set_bits(e.eax, 14, 12, level >= 3 ? std::min(addressable - 1, 4095u) : 0);
        }
        break;
      case 0xb:
      case 0x1f: {
        // Replaced as a whole: KVM reports an empty subleaf 0 ("no topology").
        bool& emitted = e.function == 0xb ? emitted_0xb : emitted_0x1f;
        if (!emitted) {
          auto leaves = topology_leaf(e.function, index, count);
          out.insert(out.end(), leaves.begin(), leaves.end());
          emitted = true;
        }
        continue;
      }
      case 0x80000001:
        if (amd) e.ecx = count > 1 ? e.ecx | (1u << 1) : e.ecx & ~(1u << 1);
        break;
      case 0x80000008:
        if (amd) {
          e.ecx = set_bits(e.ecx, 0, 8, count - 1);
          e.ecx = set_bits(e.ecx, 12, 4, bits);
        }
        break;
      case 0x8000001e:
        if (amd) {
          e.eax = index;  // extended APIC id
          e.ebx = index;  // core id; EBX[15:8] = 0: one thread per core
          e.ecx = 0;      // node 0, one node per processor
        }
        break;
      default:
        break;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace vmm::hv::boot
