// Snapshot and restore of a running test guest, observed as a user would:
// through `vmm snapshot`, `vmm restore` and `vmm qmp`, and the console.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "guest-tools/testguest/memhash.h"
#include "tests/kvm/snapshot_support.h"

namespace vmm::test {
namespace {

using namespace std::chrono_literals;

class SnapshotRestore : public KvmTest {
 protected:
  ScratchDir dir_;
  std::string sock_ = dir_ / "qmp.sock";
};

// The counter continues with the next number after each of three snapshots
// taken at different instants, both in the restored guest and, after `cont`,
// in the original.
TEST_F(SnapshotRestore, CounterContinuesFromThreeInstants) {
  VmmProcess source(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(wait_for_socket(sock_));
  for (int instant : {2, 5, 9}) {
    SCOPED_TRACE("snapshot after counter line " + std::to_string(instant));
    ASSERT_TRUE(source.wait_for_line(fmt::format("TG counter n={}", instant))) << source.output() << source.errors();
    std::string file = dir_ / fmt::format("at{}.vmm", instant);
    auto snap = snapshot(sock_, file);
    ASSERT_EQ(snap.status, 0) << snap.err;
    // The source is paused now; everything it printed before is in the pipe.
    source.drain();
    std::string before = source.output();
    auto seen = counter_values(before);
    ASSERT_FALSE(seen.empty());
    ASSERT_TRUE(consecutive(seen, 1));
    int last = seen.back();

    VmmProcess restored({vmm_binary(), "restore", file});
    for (int k = 1; k <= 3; ++k) ASSERT_TRUE(restored.wait_for_line(fmt::format("TG counter n={}", last + k))) << restored.output() << restored.errors();
    // The guest may have been paused in the middle of a line: the two
    // transcripts joined must read as one run, with no gap and no repeat.
    auto joined = counter_values(before + restored.output());
    EXPECT_TRUE(consecutive(joined, 1)) << restored.output();
    restored.kill_now();

    auto cont = qmp(sock_, R"({"execute": "cont"})");
    ASSERT_EQ(cont.status, 0) << cont.out << cont.err;
    ASSERT_TRUE(source.wait_for_line(fmt::format("TG counter n={}", last + 1))) << source.output();
  }
  EXPECT_TRUE(consecutive(counter_values(source.output()), 1)) << source.output();
}

TEST_F(SnapshotRestore, ResumeLetsTheOriginalRunOn) {
  VmmProcess source(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(source.wait_for_line("TG counter n=2")) << source.output() << source.errors();
  auto snap = snapshot(sock_, dir_ / "s.vmm", {"--resume"});
  ASSERT_EQ(snap.status, 0) << snap.err;
  EXPECT_NE(snap.out.find("the guest is running"), std::string::npos) << snap.out;
  source.drain();
  int last = counter_values(source.output()).back();
  ASSERT_TRUE(source.wait_for_line(fmt::format("TG counter n={}", last + 2))) << source.output();
  EXPECT_TRUE(consecutive(counter_values(source.output()), 1)) << source.output();
}

// One file restored twice at the same time: two independent guests, both
// continuing from the same number.
TEST_F(SnapshotRestore, OneFileRestoredTwiceAtOnce) {
  VmmProcess source(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(source.wait_for_line("TG counter n=3")) << source.output() << source.errors();
  std::string file = dir_ / "twice.vmm";
  ASSERT_EQ(snapshot(sock_, file).status, 0);
  source.drain();
  std::string before = source.output();
  int last = counter_values(before).back();
  source.kill_now();

  VmmProcess a({vmm_binary(), "restore", file});
  VmmProcess b({vmm_binary(), "restore", file});
  for (auto* g : {&a, &b}) {
    ASSERT_TRUE(g->wait_for_line(fmt::format("TG counter n={}", last + 2))) << g->output() << g->errors();
    EXPECT_TRUE(consecutive(counter_values(before + g->output()), 1)) << g->output();
  }
}

// memfill, snapshot mid-counter, restore, memcheck: the hash the guest
// computes over its memory after the restore is the one it printed before.
void check_memory_survives(const ScratchDir& dir, const std::string& sock, std::vector<std::string> snap_flags,
                           std::vector<std::string> restore_flags, int generations) {
  const int kMib = 200, kSeed = 5;
  std::string expected = fmt::format("{:016x}", tg_expected_hash(kSeed, kMib));
  VmmProcess source(vmm_run_args(fmt::format("memfill mib={} seed={} counter count=40 memcheck exit code=0", kMib, kSeed),
                                 {"--api", sock}));
  auto fill = source.wait_for_line("TG memfill", 60s);
  ASSERT_TRUE(fill) << source.output() << source.errors();
  EXPECT_EQ(tg_field(*fill, "hash"), expected);
  ASSERT_TRUE(source.wait_for_line("TG counter n=2")) << source.output();

  std::string socket = sock;
  std::unique_ptr<VmmProcess> current;
  for (int gen = 1; gen <= generations; ++gen) {
    SCOPED_TRACE("generation " + std::to_string(gen));
    std::string file = dir / fmt::format("gen{}.vmm", gen);
    auto snap = snapshot(socket, file, snap_flags);
    ASSERT_EQ(snap.status, 0) << snap.err;
    current.reset();  // the previous generation is done with
    std::string next_sock = dir / fmt::format("gen{}.sock", gen);
    std::vector<std::string> args = {vmm_binary(), "restore", file, "--api", next_sock};
    args.insert(args.end(), restore_flags.begin(), restore_flags.end());
    current = std::make_unique<VmmProcess>(args);
    ASSERT_TRUE(wait_for_socket(next_sock)) << current->errors();
    if (gen < generations) {
      // Let the restored guest run a little before the next snapshot.
      ASSERT_TRUE(current->wait_for_line("TG counter n=")) << current->output() << current->errors();
      ASSERT_TRUE(current->wait_for_line("TG counter n=")) << current->output() << current->errors();
    }
    socket = next_sock;
  }
  source.kill_now();
  auto check = current->wait_for_line("TG mem ", 60s);
  ASSERT_TRUE(check) << current->output() << current->errors();
  EXPECT_EQ(tg_field(*check, "hash"), expected);
  EXPECT_EQ(current->wait_exit(60s), 1) << current->errors();
}

// Two vCPUs computing at the same time, snapshotted mid-computation: the
// restored guest finishes with the hashes the host computes.
TEST_F(SnapshotRestore, TwoBusyVcpus) {
  const uint64_t kIters = 60'000'000;
  VmmProcess source(vmm_run_args(fmt::format("smp iters={} exit code=0", kIters), {"--api", sock_, "--cpus", "2"}));
  ASSERT_TRUE(source.wait_for_line("TG smp started=1")) << source.output() << source.errors();
  // Both CPUs are past their start: snapshot while each is in its loop.
  auto progress = source.wait_for_line("TG smp progress");
  ASSERT_TRUE(progress) << source.output();
  ASSERT_NE(tg_field(*progress, "cpu1"), "0") << *progress;
  std::string file = dir_ / "smp.vmm";
  ASSERT_EQ(snapshot(sock_, file).status, 0);
  source.kill_now();
  VmmProcess restored({vmm_binary(), "restore", file});
  auto done = restored.wait_for_line("TG smp cpus=2", 120s);
  ASSERT_TRUE(done) << restored.output() << restored.errors();
  EXPECT_EQ(tg_field(*done, "hash0"), fmt::format("{:016x}", tg_smp_expected_hash(0, kIters)));
  EXPECT_EQ(tg_field(*done, "hash1"), fmt::format("{:016x}", tg_smp_expected_hash(1, kIters)));
  EXPECT_EQ(restored.wait_exit(), 1) << restored.errors();
}

TEST_F(SnapshotRestore, MemoryHashSurvivesRestore) { check_memory_survives(dir_, sock_, {}, {}, 1); }
TEST_F(SnapshotRestore, MemoryHashSurvivesThreeGenerations) { check_memory_survives(dir_, sock_, {}, {}, 3); }
TEST_F(SnapshotRestore, MemoryHashSurvivesLz4) { check_memory_survives(dir_, sock_, {"--compress", "lz4"}, {}, 1); }
TEST_F(SnapshotRestore, MemoryHashSurvivesEagerRestore) { check_memory_survives(dir_, sock_, {}, {"--eager"}, 1); }

}  // namespace
}  // namespace vmm::test
