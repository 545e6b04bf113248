// Conformance of the machine-level snapshot sections — "machine", "vm" and
// "vcpu" — which are not devices but follow the same rules: canonical
// encoding, hostile payloads rejected before use, version-1 goldens that must
// keep loading, and a schema golden that changes only with a version bump.
// Goldens: GOLDEN_DIR/<section>/v1.bin and GOLDEN_DIR/schema/<section>.txt;
// VMM_UPDATE_GOLDEN=1 rewrites them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "hypervisor/kvm/vcpu_state.h"
#include "hypervisor/kvm/vm_state.h"
#include "hypervisor/machine/machine_config_state.h"
#include "snapshot/archive.h"

namespace vmm::hv {
namespace {

using Bytes = std::vector<uint8_t>;

// Deterministic, non-trivial samples: every field distinct from its default.
struct MachineSection {
  using State = MachineConfigState;
  static constexpr const char* kName = "machine";
  static State sample() {
    State s;
    s.memory = {{0, 3ull << 30}, {4ull << 30, 1ull << 30}};
    s.cpus = 2, s.tsc_khz = 2'600'000;
    s.kernel_path = "/boot/testguest.elf", s.initrd_path = "/boot/initrd", s.cmdline = "ready counter";
    return s;
  }
  static Result<void> validate(const State& s) { return validate_machine_config(s, 1024); }
};

struct VmSection {
  using State = VmState;
  static constexpr const char* kName = "vm";
  static State sample() {
    State s;
    s.pic_master = PicState{1, 2, 0xfe, 0, 0, 0x20, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0xf8};
    s.pic_slave = PicState{0, 0, 0xff, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0xde};
    s.ioapic.base_address = 0xfec00000, s.ioapic.id = 1, s.ioapic.irr = 4;
    for (size_t i = 0; i < s.ioapic.redirection.size(); ++i) s.ioapic.redirection[i] = 0x10000 | (0x20 + i);
    s.pit[0] = PitChannelState{11932, 0, 0, 0, 0, 0, 3, 0, 3, 2, 0, 1};
    s.pit_flags = 0, s.kvmclock_ns = 123'456'789'000;
    return s;
  }
  static Result<void> validate(const State& s) { return validate_vm_state(s); }
};

struct VcpuSection {
  using State = VcpuState;
  static constexpr const char* kName = "vcpu";
  static State sample() {
    State s;
    s.cpuid = {{0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69}, {1, 0, 0, 0x906a1, 0x10800, 0x80000000, 0}};
    s.mp_state = KVM_MP_STATE_RUNNABLE;
    for (size_t i = 0; i < s.regs.size(); ++i) s.regs[i] = 0x1000 + i;
    for (size_t i = 0; i < s.sregs.segments.size(); ++i) s.sregs.segments[i] = SegmentState{0, 0xfffff, uint16_t(8 * i), 11, 1, 0, 0, 1, 1, 1, 0, 0};
    s.sregs.gdt = {0x500, 0x1f}, s.sregs.idt = {0x520, 0};
    s.sregs.cr0 = 0x80050033, s.sregs.cr3 = 0x9000, s.sregs.cr4 = 0x20, s.sregs.efer = 0x500;
    s.sregs.apic_base = 0xfee00900;
    s.xsave[0] = 0x37f, s.xsave[6] = 0x1f80;
    s.xcrs = {{0, 7}};
    s.dr6 = 0xffff0ff0, s.dr7 = 0x400;
    s.lapic[0x20] = 0, s.lapic[0x350 + 1] = 0x07;
    s.msrs = {{0x10, 1'000'000}, {0x1b, 0xfee00900}, {0x6e0, 0}};
    s.events.nmi_masked = 1, s.events.flags = KVM_VCPUEVENT_VALID_SHADOW;
    return s;
  }
  static Result<void> validate(const State& s) { return validate_vcpu_state(s); }
};

template <class State>
Bytes save(State s) {
  snap::Saver saver(State::kVersion);
  s.visit(saver, State::kVersion);
  return saver.take();
}

template <class State>
Result<State> load(const Bytes& bytes, uint32_t version = State::kVersion) {
  State s{};
  snap::Loader loader(bytes, version);
  s.visit(loader, version);
  VMM_TRY(loader.finish());
  return s;
}

std::filesystem::path golden(const std::string& relative) {
  return (std::filesystem::path(GOLDEN_DIR) / relative).lexically_normal();
}
bool updating() {
  const char* v = std::getenv("VMM_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

template <class T>
class MachineStateConformance : public ::testing::Test {};
using Sections = ::testing::Types<MachineSection, VmSection, VcpuSection>;
class SectionNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(MachineStateConformance, Sections, SectionNames);

TYPED_TEST(MachineStateConformance, SampleIsValidAndRoundTripsByteForByte) {
  auto sample = TypeParam::sample();
  ASSERT_TRUE(TypeParam::validate(sample).ok());
  Bytes bytes = save(sample);
  auto back = load<typename TypeParam::State>(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(save(*back), bytes);
  EXPECT_NE(save(typename TypeParam::State{}), bytes) << "the sample must differ from the defaults";
}

TYPED_TEST(MachineStateConformance, EveryStrictPrefixIsRejected) {
  Bytes bytes = save(TypeParam::sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    Bytes prefix(bytes.begin(), bytes.begin() + static_cast<long>(n));
    EXPECT_FALSE(load<typename TypeParam::State>(prefix).ok()) << "prefix of " << n << " bytes loaded";
  }
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(load<typename TypeParam::State>(longer).ok()) << "a trailing byte loaded";
}

// A flipped bit is either rejected or yields a state that re-saves to exactly
// the flipped bytes: no crash, no silent normalisation.
TYPED_TEST(MachineStateConformance, BitFlipsAreRejectedOrKeptExactly) {
  Bytes bytes = save(TypeParam::sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      Bytes flipped = bytes;
      flipped[i] ^= static_cast<uint8_t>(1 << bit);
      auto s = load<typename TypeParam::State>(flipped);
      if (!s.ok()) continue;
      (void)TypeParam::validate(*s);
      EXPECT_EQ(save(*s), flipped) << "byte " << i << " bit " << bit;
    }
  }
}

TYPED_TEST(MachineStateConformance, VersionOneGoldenStillLoads) {
  auto path = golden(std::string(TypeParam::kName) + "/v1.bin");
  Bytes current = save(TypeParam::sample());
  if (updating()) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(current.data()), static_cast<long>(current.size()));
    GTEST_SKIP() << "VMM_UPDATE_GOLDEN=1: wrote " << path;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden " << path << " (generate with VMM_UPDATE_GOLDEN=1)";
  Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto s = load<typename TypeParam::State>(bytes, 1);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(TypeParam::validate(*s).ok());
  if (TypeParam::State::kVersion == 1) {
    EXPECT_EQ(save(*s), bytes);
  }
}

TYPED_TEST(MachineStateConformance, SchemaMatchesItsGolden) {
  snap::SchemaDumper dumper(TypeParam::State::kVersion);
  typename TypeParam::State probe{};
  probe.visit(dumper, TypeParam::State::kVersion);
  auto path = golden("schema/" + std::string(TypeParam::kName) + ".txt");
  if (updating()) {
    std::ofstream(path) << dumper.text();
    GTEST_SKIP() << "VMM_UPDATE_GOLDEN=1: wrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden " << path;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(dumper.text(), text) << "the encoding changed: bump the state version and add a golden";
}

}  // namespace
}  // namespace vmm::hv
