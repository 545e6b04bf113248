// A snapshot into a full filesystem: a clear error, no FILE and no FILE.tmp
// left behind, and the guest runs on as it did before.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstring>
#include <filesystem>

#include "tests/kvm/snapshot_support.h"

namespace vmm::test {
namespace {

class SnapshotFullDisk : public KvmTest {
 protected:
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    small_ = dir_ / "small";
    std::filesystem::create_directory(small_);
    // 4 MiB: far less than the 16 MiB the guest fills.
    if (mount("tmpfs", small_.c_str(), "tmpfs", 0, "size=4m") != 0) {
      GTEST_SKIP() << "cannot mount a small tmpfs here: " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount2(small_.c_str(), MNT_DETACH);
  }
  ScratchDir dir_;
  std::string small_;
  bool mounted_ = false;
};

TEST_F(SnapshotFullDisk, FailsCleanlyAndTheGuestRunsOn) {
  std::string sock = dir_ / "qmp.sock";
  VmmProcess guest(vmm_run_args("memfill mib=16 seed=2 counter", {"--api", sock}));
  ASSERT_TRUE(guest.wait_for_line("TG counter n=2")) << guest.output() << guest.errors();
  std::string file = small_ + "/snap.vmm";
  auto snap = snapshot(sock, file);
  EXPECT_EQ(snap.status, 1) << snap.out << snap.err;
  EXPECT_EQ(std::count(snap.err.begin(), snap.err.end(), '\n'), 1) << snap.err;
  EXPECT_NE(snap.err.find("No space left on device"), std::string::npos) << snap.err;
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
  // Running again: the counter goes on past what it had printed.
  guest.drain();
  int last = counter_values(guest.output()).back();
  ASSERT_TRUE(guest.wait_for_line("TG counter n=" + std::to_string(last + 2))) << guest.output() << guest.errors();
  auto status = qmp(sock, R"({"execute": "query-status"})");
  EXPECT_NE(status.out.find("\"running\": true"), std::string::npos) << status.out;
}

}  // namespace
}  // namespace vmm::test
