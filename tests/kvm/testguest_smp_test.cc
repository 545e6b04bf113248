// The test guest's `smp` workload: the BSP starts the APs with INIT/SIPI/SIPI
// and every vCPU runs its own memhash.h chain at the same time. Checked as a
// user would: the console lines of vmm (and QEMU, as a cross-check that the
// guest does not lean on vmm-only behaviour).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "guest-tools/testguest/memhash.h"
#include "tests/kvm/kvm_test_support.h"

namespace vmm::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

// Long enough for several 100 ms progress lines on a fast host (about 1 s
// per vCPU on an idle desktop core), short enough to recompute here.
constexpr uint64_t kIters = 40'000'000;

// The `hash<c>=` fields the guest must print for `smp iters=<iters>` on
// `cpus` vCPUs, computed on host threads while the guest runs.
std::vector<std::future<std::string>> expected_hashes(int cpus, uint64_t iters) {
  std::vector<std::future<std::string>> out;
  for (int c = 0; c < cpus; ++c)
    out.push_back(std::async(std::launch::async,
                             [c, iters] { return fmt::format("{:016x}", tg_smp_expected_hash(c, iters)); }));
  return out;
}

// The per-CPU step counts of every `TG smp progress` line in `output`.
std::vector<std::vector<uint64_t>> progress_counts(const std::string& output, int cpus) {
  std::vector<std::vector<uint64_t>> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("TG smp progress", 0) != 0) continue;
    std::vector<uint64_t> k;
    for (int c = 0; c < cpus; ++c) k.push_back(std::stoull("0" + tg_field(line, fmt::format("cpu{}", c))));
    lines.push_back(k);
  }
  return lines;
}

// True when some progress line shows every CPU further along than the line
// before it: all of them were computing during those 100 ms.
bool all_advance_together(const std::vector<std::vector<uint64_t>>& lines) {
  for (size_t i = 1; i < lines.size(); ++i) {
    bool all = true;
    for (size_t c = 0; c < lines[i].size(); ++c) all = all && lines[i][c] > lines[i - 1][c];
    if (all) return true;
  }
  return false;
}

// Runs `smp iters=<iters> exit code=0` in `argv`'s machine with `cpus` vCPUs
// and checks the start-up line, the hashes and, if asked, the concurrency.
void check_smp_run(std::vector<std::string> argv, int cpus, uint64_t iters, bool expect_concurrency) {
  auto expected = expected_hashes(cpus, iters);
  VmmProcess vm(std::move(argv));
  auto started = vm.wait_for_line("TG smp started=");
  ASSERT_TRUE(started) << vm.output() << vm.errors();
  EXPECT_EQ(tg_field(*started, "started"), std::to_string(cpus - 1));
  auto result = vm.wait_for_line("TG smp cpus=", 120s);
  ASSERT_TRUE(result) << vm.output() << vm.errors();
  EXPECT_EQ(tg_field(*result, "cpus"), std::to_string(cpus));
  EXPECT_EQ(tg_field(*result, "iters"), std::to_string(iters));
  for (int c = 0; c < cpus; ++c)
    EXPECT_EQ(tg_field(*result, fmt::format("hash{}", c)), expected[c].get()) << "cpu " << c;
  if (expect_concurrency) {
    auto lines = progress_counts(vm.output(), cpus);
    EXPECT_TRUE(all_advance_together(lines)) << "no 100 ms in which every vCPU made progress:\n" << vm.output();
  }
  EXPECT_EQ(vm.wait_exit(), 1) << vm.output() << vm.errors();
}

std::vector<std::string> qemu_args(const std::string& append, int cpus) {
  return {kQemu, "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", "256M",
          "-smp", std::to_string(cpus), "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
          "-no-reboot", "-kernel", testguest_elf(), "-append", append, "-device",
          "isa-debug-exit,iobase=0xf4,iosize=0x04"};
}

class TestGuestSmp : public KvmTest {};

TEST_F(TestGuestSmp, TwoVcpusComputeAtOnceAndMatchTheHost) {
  std::string append = fmt::format("smp iters={} exit code=0", kIters);
  check_smp_run(vmm_run_args(append, {"--cpus", "2"}), 2, kIters, true);
}

TEST_F(TestGuestSmp, OneVcpuHasNoApsToStart) {
  check_smp_run(vmm_run_args("smp iters=1000000 exit code=0", {"--cpus", "1"}), 1, 1'000'000, false);
}

// The APs are started once and then sleep between runs; a second run must
// wake them again.
TEST_F(TestGuestSmp, SecondRunReusesTheAps) {
  auto expected = expected_hashes(2, 2000);
  VmmProcess vmm(vmm_run_args("smp iters=1000 smp iters=2000 exit code=0", {"--cpus", "2"}));
  ASSERT_TRUE(vmm.wait_for_line("TG smp cpus=2 iters=1000 ")) << vmm.output() << vmm.errors();
  auto started = vmm.wait_for_line("TG smp started=");
  ASSERT_TRUE(started) << vmm.output() << vmm.errors();
  EXPECT_EQ(tg_field(*started, "started"), "1");
  auto second = vmm.wait_for_line("TG smp cpus=2 iters=2000 ");
  ASSERT_TRUE(second) << vmm.output() << vmm.errors();
  EXPECT_EQ(tg_field(*second, "hash0"), expected[0].get());
  EXPECT_EQ(tg_field(*second, "hash1"), expected[1].get());
  EXPECT_EQ(vmm.wait_exit(), 1) << vmm.output() << vmm.errors();
}

TEST_F(TestGuestSmp, TwoVcpusUnderQemuMatchTheHost) {
  if (access(kQemu, X_OK) != 0) GTEST_SKIP() << "QEMU is not installed (apt-get install qemu-system-x86)";
  std::string append = fmt::format("smp iters={} exit code=0", kIters);
  check_smp_run(qemu_args(append, 2), 2, kIters, true);
}

}  // namespace
}  // namespace vmm::test
