// Hostile snapshot files end to end: `vmm restore` and `vmm inspect` on
// truncated, bit-flipped, wrong-version and forged files. Each must exit 1
// with one line on stderr and never crash (no signal, no sanitizer report:
// CI runs this executable under AddressSanitizer and UBSan too).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "snapshot/snapshot_reader.h"
#include "tests/kvm/snapshot_support.h"
#include "tests/unit/snapshot/snapshot_file_test_support.h"

namespace vmm::test {
namespace {

using snap::testing::Bytes;
namespace st = snap::testing;

class HostileSnapshot : public KvmTest {
 protected:
  static void SetUpTestSuite() {
    if (!kvm_skip_reason().empty()) return;
    dir_ = new ScratchDir();
    std::string sock = *dir_ / "src.sock";
    VmmProcess source(vmm_run_args("memfill mib=4 seed=9 counter", {"--api", sock, "--memory", "32M"}));
    if (!source.wait_for_line("TG counter n=1") || snapshot(sock, good()).status != 0) good_ok_ = false;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_TRUE(good_ok_) << "could not make the reference snapshot";
  }
  static std::string good() { return *dir_ / "good.vmm"; }

  // Writes `bytes` to a file and checks that restore and (for a file that is
  // broken as a file, not just in meaning) inspect refuse it cleanly;
  // returns restore's message.
  std::string expect_rejected(const Bytes& bytes, const std::string& what, bool broken_file = true) {
    SCOPED_TRACE(what);
    std::string path = *dir_ / "bad.vmm";
    st::write_file(path, bytes);
    auto restore = run_cli({"restore", path});
    EXPECT_EQ(restore.status, 1) << restore.err;
    EXPECT_EQ(std::count(restore.err.begin(), restore.err.end(), '\n'), 1) << restore.err;
    EXPECT_NE(restore.err.find("vmm: restore "), std::string::npos) << restore.err;
    EXPECT_EQ(restore.out, "") << "nothing may run";
    auto inspect = run_cli({"inspect", path});
    if (broken_file) {
      EXPECT_EQ(inspect.status, 1) << inspect.err;
      EXPECT_EQ(std::count(inspect.err.begin(), inspect.err.end(), '\n'), 1) << inspect.err;
    } else {
      EXPECT_EQ(inspect.status, 0) << "inspect checks the file, not what it asks for: " << inspect.err;
    }
    return restore.err;
  }

  static inline ScratchDir* dir_ = nullptr;
  static inline bool good_ok_ = true;
};

TEST_F(HostileSnapshot, TheReferenceFileIsGood) {
  auto inspect = run_cli({"inspect", good()});
  EXPECT_EQ(inspect.status, 0) << inspect.err;
}

TEST_F(HostileSnapshot, EveryTenPercentPrefix) {
  Bytes file = st::read_file(good());
  for (int tenth = 0; tenth < 10; ++tenth) {
    Bytes prefix(file.begin(), file.begin() + static_cast<long>(file.size() * tenth / 10));
    expect_rejected(prefix, fmt::format("{}0% prefix", tenth));
  }
}

TEST_F(HostileSnapshot, OneFlippedBitInEachSection) {
  Bytes file = st::read_file(good());
  auto reader = snap::SnapshotReader::open(good());
  ASSERT_TRUE(reader.ok());
  for (const auto& s : reader->sections()) {
    if (s.length == 0) continue;
    Bytes bad = file;
    bad[s.offset + s.length / 2] ^= 0x10;
    std::string err = expect_rejected(bad, "section " + s.instance);
    EXPECT_NE(err.find(s.instance), std::string::npos) << "the message names the section: " << err;
  }
}

TEST_F(HostileSnapshot, BadMagic) {
  Bytes file = st::read_file(good());
  file[0] ^= 0xff;
  expect_rejected(file, "bad magic");
}

TEST_F(HostileSnapshot, FutureMajorVersion) {
  Bytes file = st::read_file(good());
  snap::codec::put_le(std::span<uint8_t>(file.data(), snap::kHeaderSize), snap::hdr::kMajor, 2, 2);
  st::reseal(file);
  std::string err = expect_rejected(file, "format 2.0");
  EXPECT_NE(err.find("newer than this vmm"), std::string::npos) << err;
}

TEST_F(HostileSnapshot, SectionLengthPastTheEnd) {
  Bytes file = st::read_file(good());
  std::span<uint8_t> h(file.data(), snap::kHeaderSize);
  uint64_t table = snap::codec::get_le(h, snap::hdr::kSectionTable, 8);
  std::span<uint8_t> entry(file.data() + table, snap::sec::kEntrySize);
  snap::codec::put_le(entry, snap::sec::kLength, uint64_t{1} << 40, 8);
  st::reseal(file);
  expect_rejected(file, "section length 1 TiB");
}

TEST_F(HostileSnapshot, AbsurdCounts) {
  Bytes file = st::read_file(good());
  std::span<uint8_t> h(file.data(), snap::kHeaderSize);
  snap::codec::put_le(h, snap::hdr::kSectionCount, 0xffffffffu, 4);
  st::reseal(file);
  expect_rejected(file, "4 billion sections");
  file = st::read_file(good());
  std::span<uint8_t> h2(file.data(), snap::kHeaderSize);
  snap::codec::put_le(h2, snap::hdr::kRegionCount, 0x7fffffffu, 4);
  st::reseal(file);
  expect_rejected(file, "2 billion regions");
}

TEST_F(HostileSnapshot, ForgedVcpuCountInTheMachineSection) {
  // A well-formed file whose machine section asks for 100000 vCPUs: the
  // checksums are right, the value is not.
  auto reader = snap::SnapshotReader::open(good());
  ASSERT_TRUE(reader.ok());
  Bytes file = st::read_file(good());
  for (const auto& s : reader->sections()) {
    if (s.kind != "machine") continue;
    auto view = reader->take("machine", "machine");
    ASSERT_TRUE(view.ok());
    // The vCPU count follows the memory vector: u32 count + 16 bytes each.
    uint32_t regions = view->payload[0];
    size_t at = s.offset + 4 + regions * 16;
    snap::codec::put_le(std::span<uint8_t>(file.data(), file.size()), at, 100000, 4);
    std::span<uint8_t> h(file.data(), snap::kHeaderSize);
    uint64_t table = snap::codec::get_le(h, snap::hdr::kSectionTable, 8);
    for (size_t i = 0; i < reader->sections().size(); ++i) {
      std::span<uint8_t> entry(file.data() + table + i * snap::sec::kEntrySize, snap::sec::kEntrySize);
      if (snap::codec::get_le(entry, snap::sec::kOffset, 8) == s.offset) {
        snap::codec::put_le(entry, snap::sec::kChecksum, snap::codec::xxh3({file.data() + s.offset, s.length}), 8);
      }
    }
    st::reseal(file);
    std::string err = expect_rejected(file, "100000 vCPUs", false);
    EXPECT_NE(err.find("vCPUs"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace vmm::test
