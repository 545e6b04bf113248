// The MP table, parsed back from guest memory the way a kernel reads it
// (MP spec 1.4 §4): find "_MP_", check both checksums, walk the entries.
#include "hypervisor/boot/mptable.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

struct ParsedTable {
  MpConfigHeader header;
  std::vector<MpProcessorEntry> cpus;
  std::vector<MpBusEntry> buses;
  std::vector<MpIoapicEntry> ioapics;
  std::vector<MpInterruptEntry> io_ints;
  std::vector<MpInterruptEntry> local_ints;
};

template <class T>
T at(const std::vector<uint8_t>& bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

ParsedTable parse(const GuestMemory& mem) {
  ParsedTable t{};
  auto fp = mem.read_obj<MpFloatingPointer>(kMpTableAddr).value();
  EXPECT_EQ(std::memcmp(fp.signature, "_MP_", 4), 0);
  EXPECT_EQ(fp.length, 1);
  EXPECT_EQ(fp.spec_rev, 4);
  EXPECT_EQ(mp_checksum(std::span(reinterpret_cast<const uint8_t*>(&fp), sizeof fp)), 0) << "floating pointer";
  EXPECT_EQ(fp.features[0], 0);  // a configuration table follows
  EXPECT_EQ(fp.config_addr, kMpTableAddr + 16);

  t.header = mem.read_obj<MpConfigHeader>(fp.config_addr).value();
  EXPECT_EQ(std::memcmp(t.header.signature, "PCMP", 4), 0);
  EXPECT_EQ(t.header.spec_rev, 4);
  EXPECT_EQ(t.header.lapic_addr, kLapicAddr);
  EXPECT_EQ(t.header.ext_length, 0);
  std::vector<uint8_t> bytes(t.header.length);
  EXPECT_TRUE(mem.read(fp.config_addr, bytes).ok());
  EXPECT_EQ(mp_checksum(bytes), 0) << "configuration table";

  size_t pos = sizeof(MpConfigHeader);
  unsigned entries = 0;
  while (pos < bytes.size()) {
    switch (bytes[pos]) {
      case kMpProcessor:
        t.cpus.push_back(at<MpProcessorEntry>(bytes, pos));
        pos += sizeof(MpProcessorEntry);
        break;
      case kMpBus:
        t.buses.push_back(at<MpBusEntry>(bytes, pos));
        pos += 8;
        break;
      case kMpIoapic:
        t.ioapics.push_back(at<MpIoapicEntry>(bytes, pos));
        pos += 8;
        break;
      case kMpIoInterrupt:
        t.io_ints.push_back(at<MpInterruptEntry>(bytes, pos));
        pos += 8;
        break;
      case kMpLocalInterrupt:
        t.local_ints.push_back(at<MpInterruptEntry>(bytes, pos));
        pos += 8;
        break;
      default:
        ADD_FAILURE() << "unknown entry type " << int{bytes[pos]} << " at " << pos;
        return t;
    }
    ++entries;
  }
  EXPECT_EQ(pos, bytes.size()) << "last entry overruns the table";
  EXPECT_EQ(entries, t.header.entry_count);
  return t;
}

class MpTableTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(MpTableTest, ParsesBack) {
  const uint32_t cpus = GetParam();
  auto mem = GuestMemory::create({{0, 2 * kMiB}}).value();
  auto size = write_mptable(mem, cpus);
  ASSERT_TRUE(size.ok()) << size.error().message();
  EXPECT_EQ(*size, 16 + 44 + 20 * cpus + 8 + 8 + 16 * 8 + 2 * 8);

  ParsedTable t = parse(mem);
  ASSERT_EQ(t.cpus.size(), cpus);
  for (uint32_t i = 0; i < cpus; ++i) {
    EXPECT_EQ(t.cpus[i].lapic_id, i);
    EXPECT_EQ(t.cpus[i].lapic_version, kMpLapicVersion);
    EXPECT_EQ(t.cpus[i].cpu_flags, i == 0 ? (kMpCpuEnabled | kMpCpuBsp) : kMpCpuEnabled) << i;
    EXPECT_EQ(t.cpus[i].cpu_signature, 0x600u);
    EXPECT_EQ(t.cpus[i].feature_flags, 0x201u);
  }

  ASSERT_EQ(t.buses.size(), 1u);
  EXPECT_EQ(t.buses[0].bus_id, kMpIsaBusId);
  EXPECT_EQ(std::string(t.buses[0].bus_type, 6), "ISA   ");

  ASSERT_EQ(t.ioapics.size(), 1u);
  EXPECT_EQ(t.ioapics[0].ioapic_id, cpus);
  EXPECT_EQ(t.ioapics[0].ioapic_version, 0x11);
  EXPECT_EQ(t.ioapics[0].flags, 1);
  EXPECT_EQ(t.ioapics[0].addr, 0xfec00000u);

  // ISA IRQ n -> IOAPIC pin n, like KVM's default GSI routing.
  ASSERT_EQ(t.io_ints.size(), 16u);
  for (uint32_t irq = 0; irq < 16; ++irq) {
    const auto& e = t.io_ints[irq];
    EXPECT_EQ(e.int_type, kMpIntInt);
    EXPECT_EQ(e.flags, 0);
    EXPECT_EQ(e.src_bus, kMpIsaBusId);
    EXPECT_EQ(e.src_irq, irq);
    EXPECT_EQ(e.dst_id, cpus);
    EXPECT_EQ(e.dst_pin, irq);
  }

  ASSERT_EQ(t.local_ints.size(), 2u);
  EXPECT_EQ(t.local_ints[0].int_type, kMpIntExtInt);
  EXPECT_EQ(t.local_ints[0].dst_id, 0);
  EXPECT_EQ(t.local_ints[0].dst_pin, 0);
  EXPECT_EQ(t.local_ints[1].int_type, kMpIntNmi);
  EXPECT_EQ(t.local_ints[1].dst_id, 0xff);
  EXPECT_EQ(t.local_ints[1].dst_pin, 1);
}

INSTANTIATE_TEST_SUITE_P(Cpus, MpTableTest, ::testing::Values(1u, 2u, 8u, 254u));

TEST(MpTable, UsesGivenCpuSignature) {
  auto mem = GuestMemory::create({{0, 2 * kMiB}}).value();
  ASSERT_TRUE(write_mptable(mem, 2, MpCpuInfo{0x906ea, 0x178bfbff}).ok());
  ParsedTable t = parse(mem);
  ASSERT_EQ(t.cpus.size(), 2u);
  EXPECT_EQ(t.cpus[1].cpu_signature, 0x906eau);
  EXPECT_EQ(t.cpus[1].feature_flags, 0x178bfbffu);
}

TEST(MpTable, RejectsBadCpuCounts) {
  auto mem = GuestMemory::create({{0, 2 * kMiB}}).value();
  for (uint32_t cpus : {0u, 255u, 1000u}) {
    auto r = write_mptable(mem, cpus);
    ASSERT_FALSE(r.ok()) << cpus;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  }
  EXPECT_EQ(mem.read_obj<uint32_t>(kMpTableAddr).value(), 0u);
}

TEST(MpTable, FailsWithoutRamThere) {
  auto mem = GuestMemory::create({{0, 512 * kKiB}}).value();
  auto r = write_mptable(mem, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kOutOfRange);
  EXPECT_EQ(r.error().message().rfind("MP table: ", 0), 0u) << r.error().message();
}

TEST(MpTable, Checksum) {
  const uint8_t bytes[] = {1, 2, 3, 250};
  EXPECT_EQ(mp_checksum(bytes), 0);
  EXPECT_EQ(mp_checksum(std::span(bytes, 3)), 6);
}

}  // namespace
}  // namespace vmm::hv::boot
