// Determinism: a paused guest saved, restored (still paused) and saved again
// gives the same bytes, section by section and for all of memory; and saving
// a paused guest twice gives the same bytes too.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cstring>

#include "snapshot/snapshot_reader.h"
#include "tests/kvm/snapshot_support.h"

namespace vmm::test {
namespace {

using namespace std::chrono_literals;

void expect_same_state(const std::string& a_path, const std::string& b_path) {
  auto a = snap::SnapshotReader::open(a_path);
  auto b = snap::SnapshotReader::open(b_path);
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok()) << b.error().message();
  ASSERT_EQ(a->sections().size(), b->sections().size());
  for (size_t i = 0; i < a->sections().size(); ++i) {
    const auto& sa = a->sections()[i];
    SCOPED_TRACE("section " + sa.instance + " (" + sa.kind + ")");
    auto pa = a->take(sa.kind, sa.instance);
    auto pb = b->take(sa.kind, sa.instance);
    ASSERT_TRUE(pa.ok()) << pa.error().message();
    ASSERT_TRUE(pb.ok()) << pb.error().message();
    EXPECT_EQ(pa->version, pb->version);
    EXPECT_TRUE(pa->payload == pb->payload) << "payloads differ";
  }
  ASSERT_EQ(a->regions().size(), b->regions().size());
  for (size_t i = 0; i < a->regions().size(); ++i) {
    const auto& ra = a->regions()[i];
    const auto& rb = b->regions()[i];
    ASSERT_EQ(ra.gpa, rb.gpa);
    ASSERT_EQ(ra.size, rb.size);
    std::vector<uint8_t> ma(ra.size), mb(rb.size);
    ASSERT_TRUE(a->read_region(i, ma).ok());
    ASSERT_TRUE(b->read_region(i, mb).ok());
    EXPECT_TRUE(std::memcmp(ma.data(), mb.data(), ma.size()) == 0) << "memory region " << i << " differs";
  }
}

class SnapshotDeterminism : public KvmTest {
 protected:
  ScratchDir dir_;
};

TEST_F(SnapshotDeterminism, SaveOfRestoreEqualsTheOriginal) {
  std::string sock = dir_ / "a.sock", sock2 = dir_ / "b.sock";
  // Two vCPUs, memory filled, the PIT and RTC running: plenty of state.
  VmmProcess source(vmm_run_args("memfill mib=16 seed=3 counter", {"--api", sock, "--cpus", "2"}));
  ASSERT_TRUE(source.wait_for_line("TG counter n=2")) << source.output() << source.errors();
  std::string s1 = dir_ / "s1.vmm", s1_again = dir_ / "s1-again.vmm", s2 = dir_ / "s2.vmm";
  ASSERT_EQ(snapshot(sock, s1).status, 0);
  // The guest stays paused: a second save must be identical.
  ASSERT_EQ(snapshot(sock, s1_again).status, 0);
  source.kill_now();
  expect_same_state(s1, s1_again);

  VmmProcess restored({vmm_binary(), "restore", s1, "--paused", "--api", sock2});
  ASSERT_TRUE(wait_for_socket(sock2)) << restored.errors();
  ASSERT_EQ(snapshot(sock2, s2).status, 0);
  expect_same_state(s1, s2);
  restored.kill_now();
}

}  // namespace
}  // namespace vmm::test
