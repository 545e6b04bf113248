// CPUID per vCPU, from a fake KVM_GET_SUPPORTED_CPUID shaped like what an
// Intel host reports (empty leaf 0xB, host APIC id in leaf 1) plus the KVM
// leaves, and a small AMD one.
#include "hypervisor/boot/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>

namespace vmm::hv::boot {
namespace {

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx,
                      uint32_t flags = 0) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.flags = flags;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

uint32_t word(const char* four) {
  uint32_t v;
  std::memcpy(&v, four, 4);
  return v;
}

std::vector<kvm_cpuid_entry2> intel_host() {
  constexpr uint32_t kIdx = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  return {
      leaf(0x0, 0, 0x1f, word("Genu"), word("ntel"), word("ineI")),
      // Host APIC id 0x2a and 16 logical processors leak through KVM.
      leaf(0x1, 0, 0x906ea, 0x2a100800, 0x7ffafbff, 0xbfebfbff & ~(1u << 28)),
      leaf(0x4, 0, 0x1c004121, 0x1c0003f, 0x3f, 0, kIdx),  // L1d
      leaf(0x4, 1, 0x1c004122, 0x1c0003f, 0x3f, 0, kIdx),  // L1i
      leaf(0x4, 2, 0x1c004143, 0x3c0003f, 0x3ff, 0, kIdx), // L2
      leaf(0x4, 3, 0x1c03c163, 0x3c0003f, 0x2fff, 6, kIdx), // L3
      leaf(0x4, 4, 0, 0, 0, 0, kIdx),                      // no more caches
      leaf(0x6, 0, 0x4, 0, 0, 0),
      leaf(0xa, 0, 0x07300404, 0, 0, 0x603),
      leaf(0xb, 0, 0, 0, 0, 0, kIdx),  // KVM: "no topology"
      leaf(0x1f, 0, 0, 0, 0, 0, kIdx),
      leaf(0x40000000, 0, 0x40000001, word("KVMK"), word("VMKV"), word("M\0\0\0")),
      leaf(0x40000001, 0, 0x01007afb, 0, 0, 0),
      leaf(0x80000000, 0, 0x80000008, 0, 0, 0),
      leaf(0x80000008, 0, 0x3027, 0, 0, 0),
  };
}

const kvm_cpuid_entry2* find(const std::vector<kvm_cpuid_entry2>& t, uint32_t function, uint32_t index = 0) {
  for (const auto& e : t) {
    if (e.function == function && e.index == index) return &e;
  }
  return nullptr;
}

TEST(Cpuid, ApicIdsAndCounts) {
  auto host = intel_host();
  for (uint32_t count : {1u, 2u, 8u}) {
    for (uint32_t i = 0; i < count; ++i) {
      auto t = cpuid_for_vcpu(host, i, count);
      const auto* l1 = find(t, 1);
      ASSERT_NE(l1, nullptr);
      EXPECT_EQ(l1->ebx >> 24, i) << count;
      EXPECT_EQ((l1->ebx >> 16) & 0xff, count) << "addressable ids; a power of two here";
      EXPECT_EQ((l1->ebx >> 8) & 0xff, 8u) << "CLFLUSH size kept";
      EXPECT_EQ(l1->edx & kCpuid1EdxHtt, count > 1 ? kCpuid1EdxHtt : 0u) << count;
      EXPECT_EQ(l1->eax, 0x906eau);
    }
  }
  // Not a power of two: ids are still addressed with whole bits.
  auto t = cpuid_for_vcpu(host, 2, 3);
  EXPECT_EQ((find(t, 1)->ebx >> 16) & 0xff, 4u);
  EXPECT_EQ(core_id_bits(1), 0u);
  EXPECT_EQ(core_id_bits(3), 2u);
  EXPECT_EQ(core_id_bits(254), 8u);
}

TEST(Cpuid, HypervisorBit) {
  auto t = cpuid_for_vcpu(intel_host(), 0, 1);
  EXPECT_NE(find(t, 1)->ecx & kCpuid1EcxHypervisor, 0u);
  EXPECT_EQ(find(t, 1)->ecx & ~kCpuid1EcxHypervisor, 0x7ffafbffu & ~kCpuid1EcxHypervisor);
}

TEST(Cpuid, ExtendedTopologyLeaf) {
  for (uint32_t function : {0xbu, 0x1fu}) {
    auto t = cpuid_for_vcpu(intel_host(), 5, 8);
    const auto* smt = find(t, function, 0);
    const auto* core = find(t, function, 1);
    const auto* end = find(t, function, 2);
    ASSERT_TRUE(smt && core && end);
    for (const auto* e : {smt, core, end}) {
      EXPECT_EQ(e->edx, 5u) << "x2APIC id";
      EXPECT_EQ(e->flags, static_cast<uint32_t>(KVM_CPUID_FLAG_SIGNIFCANT_INDEX));
    }
    EXPECT_EQ(smt->eax, 0u);
    EXPECT_EQ(smt->ebx, 1u);
    EXPECT_EQ(smt->ecx, (kCpuidLevelTypeSmt << 8) | 0);
    EXPECT_EQ(core->eax, 3u);
    EXPECT_EQ(core->ebx, 8u);
    EXPECT_EQ(core->ecx, (kCpuidLevelTypeCore << 8) | 1);
    EXPECT_EQ(end->ecx >> 8 & 0xff, 0u) << "invalid level ends the list";
  }
}

TEST(Cpuid, CacheLeafCoreCounts) {
  auto t = cpuid_for_vcpu(intel_host(), 0, 4);
  EXPECT_EQ(find(t, 4, 0)->eax >> 26, 3u);
  EXPECT_EQ((find(t, 4, 0)->eax >> 14) & 0xfff, 0u) << "L1 is per core";
  EXPECT_EQ((find(t, 4, 2)->eax >> 14) & 0xfff, 0u) << "L2 is per core";
  EXPECT_EQ((find(t, 4, 3)->eax >> 14) & 0xfff, 3u) << "L3 is shared";
  EXPECT_EQ(find(t, 4, 3)->eax & 0x3fff, 0x0163u) << "type and level kept";
  EXPECT_EQ(find(t, 4, 4)->eax, 0u);
}

TEST(Cpuid, KvmAndPassThroughLeavesPreserved) {
  auto host = intel_host();
  auto t = cpuid_for_vcpu(host, 1, 2);
  const auto* sig = find(t, 0x40000000);
  ASSERT_NE(sig, nullptr);
  char text[13] = {};
  std::memcpy(text, &sig->ebx, 4);
  std::memcpy(text + 4, &sig->ecx, 4);
  std::memcpy(text + 8, &sig->edx, 4);
  EXPECT_EQ(std::string(text, 12), std::string("KVMKVMKVM\0\0\0", 12));
  EXPECT_EQ(sig->eax, 0x40000001u);
  for (uint32_t f : {0x0u, 0x6u, 0xau, 0x40000001u, 0x80000000u, 0x80000008u}) {
    const auto* in = find(host, f);
    const auto* out = find(t, f);
    ASSERT_TRUE(in && out) << std::hex << f;
    EXPECT_EQ(std::memcmp(in, out, sizeof *in), 0) << std::hex << f;
  }
}

TEST(Cpuid, DropsNothing) {
  auto host = intel_host();
  auto t = cpuid_for_vcpu(host, 0, 2);
  for (const auto& e : host) EXPECT_NE(find(t, e.function, e.index), nullptr) << std::hex << e.function;
  EXPECT_EQ(t.size(), host.size() + 4);  // 0xB and 0x1F gained subleaves 1 and 2
}

TEST(Cpuid, AmdTopology) {
  std::vector<kvm_cpuid_entry2> host = {
      leaf(0x0, 0, 0x10, word("Auth"), word("cAMD"), word("enti")),
      leaf(0x1, 0, 0xa20f10, 0x05100800, 0x7ed8320b, 0x178bfbff & ~(1u << 28)),
      leaf(0x80000001, 0, 0, 0, 0x75c237ff & ~2u, 0),
      leaf(0x80000008, 0, 0x3030, 0, 0x700f, 0),
      leaf(0x8000001e, 0, 0, 0, 0, 0),
  };
  auto t = cpuid_for_vcpu(host, 3, 6);
  EXPECT_EQ(find(t, 1)->ebx >> 24, 3u);
  EXPECT_NE(find(t, 0x80000001)->ecx & 2u, 0u) << "CmpLegacy";
  EXPECT_EQ(find(t, 0x80000008)->ecx & 0xff, 5u);
  EXPECT_EQ((find(t, 0x80000008)->ecx >> 12) & 0xf, 3u);
  EXPECT_EQ(find(t, 0x8000001e)->eax, 3u);
  EXPECT_EQ(find(t, 0x8000001e)->ebx & 0xff, 3u);
  // An Intel table's 0x80000008 ECX is not touched.
  auto intel = cpuid_for_vcpu(intel_host(), 0, 6);
  EXPECT_EQ(find(intel, 0x80000008)->ecx, 0u);
}

}  // namespace
}  // namespace vmm::hv::boot
