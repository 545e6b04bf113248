// The test guest under vmm: boot, timer interrupts, memory, exit codes and
// guest faults, observed as a user would (console lines, exit status, stderr).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "guest-tools/testguest/memhash.h"
#include "tests/kvm/kvm_test_support.h"

namespace vmm::test {
namespace {

using namespace std::chrono_literals;

class TestGuestBoot : public KvmTest {};

TEST_F(TestGuestBoot, ReachesReadyWithOneVcpu) {
  VmmProcess vmm(vmm_run_args("ready exit code=0", {"--cpus", "1"}));
  auto line = vmm.wait_for_line("TG ready");
  ASSERT_TRUE(line) << vmm.output() << vmm.errors();
  EXPECT_EQ(tg_field(*line, "cpus"), "1");
  EXPECT_EQ(tg_field(*line, "mem_mib"), "256");
  EXPECT_EQ(vmm.wait_exit(), 1) << vmm.errors();  // (0 << 1) | 1
}

TEST_F(TestGuestBoot, ReachesReadyWithTwoVcpus) {
  VmmProcess vmm(vmm_run_args("ready exit code=0", {"--cpus", "2", "--memory", "512M"}));
  auto line = vmm.wait_for_line("TG ready");
  ASSERT_TRUE(line) << vmm.output() << vmm.errors();
  EXPECT_EQ(tg_field(*line, "cpus"), "2");
  EXPECT_EQ(tg_field(*line, "mem_mib"), "512");
  EXPECT_EQ(vmm.wait_exit(), 1) << vmm.errors();
}

// The counter is driven by PIT interrupts through the in-kernel PIC: ten
// lines a second of guest time. The bounds are wide on purpose: they check
// that ticks arrive at the PIT's rate at all, not how fast this host is.
TEST_F(TestGuestBoot, CounterFollowsThePitAtTenLinesPerSecond) {
  VmmProcess vmm(vmm_run_args("counter count=11 exit code=0"));
  ASSERT_TRUE(vmm.wait_for_line("TG counter n=1")) << vmm.output() << vmm.errors();
  auto first = std::chrono::steady_clock::now();
  for (int i = 2; i <= 11; ++i) {
    auto line = vmm.wait_for_line("TG counter");
    ASSERT_TRUE(line) << vmm.output() << vmm.errors();
    EXPECT_EQ(tg_field(*line, "n"), std::to_string(i));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
  EXPECT_GT(seconds, 0.7) << "10 counter lines should take about 1 s of host time";
  EXPECT_LT(seconds, 5.0) << "10 counter lines should take about 1 s of host time";
  EXPECT_EQ(vmm.wait_exit(), 1) << vmm.errors();
}

TEST_F(TestGuestBoot, MemfillHashMatchesTheHostComputation) {
  VmmProcess vmm(vmm_run_args("memfill mib=64 seed=7 memcheck exit code=0"));
  auto fill = vmm.wait_for_line("TG memfill", 60s);
  ASSERT_TRUE(fill) << vmm.output() << vmm.errors();
  auto check = vmm.wait_for_line("TG mem ", 60s);
  ASSERT_TRUE(check) << vmm.output() << vmm.errors();
  std::string expected = fmt::format("{:016x}", tg_expected_hash(7, 64));
  EXPECT_EQ(tg_field(*fill, "hash"), expected);
  EXPECT_EQ(tg_field(*check, "hash"), expected);
  EXPECT_EQ(vmm.wait_exit(60s), 1) << vmm.errors();
}

TEST_F(TestGuestBoot, DebugExitCodeBecomesTheExitStatus) {
  VmmProcess vmm(vmm_run_args("exit code=3"));
  EXPECT_EQ(vmm.wait_exit(), 7) << vmm.output() << vmm.errors();
  EXPECT_EQ(vmm.errors(), "") << "a guest verdict is not a vmm error";
}

TEST_F(TestGuestBoot, TripleFaultEndsVmmWithItsOwnStatusAndMessage) {
  VmmProcess vmm(vmm_run_args("triplefault"));
  EXPECT_EQ(vmm.wait_exit(), 6) << vmm.output() << vmm.errors();
  EXPECT_NE(vmm.errors().find("triple fault"), std::string::npos) << vmm.errors();
  EXPECT_NE(vmm.errors().find("RIP 0x"), std::string::npos) << vmm.errors();
  EXPECT_EQ(std::count(vmm.errors().begin(), vmm.errors().end(), '\n'), 1) << "one line: " << vmm.errors();
}

}  // namespace
}  // namespace vmm::test
