// A snapshot that cannot be written completely leaves no file behind: a full
// disk is simulated with RLIMIT_FSIZE (writes past it fail with EFBIG once
// SIGXFSZ is ignored), at each stage of writing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include "snapshot_file_test_support.h"

namespace vmm::snap::testing {
namespace {

using ::testing::HasSubstr;

// Lowers the file size limit and ignores SIGXFSZ; restores both.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(::getrlimit(RLIMIT_FSIZE, &saved_limit_), 0);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    EXPECT_EQ(::sigaction(SIGXFSZ, &ignore, &saved_action_), 0);
    rlimit lowered = saved_limit_;
    lowered.rlim_cur = bytes;
    EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &lowered), 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_limit_);
    ::sigaction(SIGXFSZ, &saved_action_, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_limit_{};
  struct sigaction saved_action_ {};
};

constexpr rlim_t kLimit = 1u << 20;

void expect_nothing_left(const std::string& path) {
  EXPECT_FALSE(exists(path)) << path;
  EXPECT_FALSE(exists(path + ".tmp")) << path << ".tmp";
}

TEST(SnapshotWriteFailure, FullDiskWritingRawMemory) {
  TempDir dir;
  std::string path = dir.file("full.snap");
  Bytes mem = random_bytes(4u << 20, 7);
  {
    FileSizeLimit limit(kLimit);
    auto w = SnapshotWriter::create(path, sample_info());
    ASSERT_TRUE(w.ok()) << w.error().message();
    ASSERT_TRUE(w->add_section({"vcpu", "cpu0"}, Bytes(100, 1)).ok());
    auto r = w->add_memory_region(0, mem, Encoding::kRaw);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kSys);
    EXPECT_EQ(r.error().sys_errno(), EFBIG);
    EXPECT_THAT(r.error().message(),
                HasSubstr("snapshot " + path + ": write region 0 (gpa 0x0) to " + path + ".tmp at offset 0x"));
    EXPECT_THAT(r.error().message(), HasSubstr("File too large"));
    expect_nothing_left(path);
    EXPECT_FALSE(w->add_section({"vcpu", "cpu1"}, Bytes(1)).ok());
    EXPECT_FALSE(w->commit(true).ok());
  }
  expect_nothing_left(path);
}

TEST(SnapshotWriteFailure, FullDiskWritingLz4Memory) {
  TempDir dir;
  std::string path = dir.file("full.snap");
  Bytes mem = random_bytes(4u << 20, 8);  // incompressible
  FileSizeLimit limit(kLimit);
  auto w = SnapshotWriter::create(path, sample_info());
  ASSERT_TRUE(w.ok());
  auto r = w->add_memory_region(0, mem, Encoding::kLz4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno(), EFBIG);
  expect_nothing_left(path);
}

TEST(SnapshotWriteFailure, FullDiskWritingASection) {
  TempDir dir;
  std::string path = dir.file("full.snap");
  FileSizeLimit limit(kLimit);
  auto w = SnapshotWriter::create(path, sample_info());
  ASSERT_TRUE(w.ok());
  auto r = w->add_section({"machine", "machine"}, Bytes(2u << 20, 3));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("write section machine (machine) to " + path + ".tmp"));
  expect_nothing_left(path);
}

TEST(SnapshotWriteFailure, FullDiskAtCommit) {
  TempDir dir;
  std::string path = dir.file("full.snap");
  // The data (one page) fits; the region's holes push the tables past the limit.
  Bytes mem(4u << 20, 0);
  mem[10] = 1;
  FileSizeLimit limit(kLimit);
  auto w = SnapshotWriter::create(path, sample_info());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->add_section({"vcpu", "cpu0"}, Bytes(10, 1)).ok());
  ASSERT_TRUE(w->add_memory_region(0, mem, Encoding::kRaw).ok());
  EXPECT_TRUE(exists(path + ".tmp"));
  auto r = w->commit(true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().sys_errno(), EFBIG);
  EXPECT_THAT(r.error().message(), HasSubstr("write the section table to " + path + ".tmp"));
  expect_nothing_left(path);
}

TEST(SnapshotWriteFailure, AFailedOverwriteKeepsThePreviousFile) {
  TempDir dir;
  std::string path = dir.file("keep.snap");
  ASSERT_TRUE(write_sample(path, Sample{}).ok());
  Bytes before = read_file(path);
  {
    FileSizeLimit limit(kLimit);
    auto w = SnapshotWriter::create(path, sample_info());
    ASSERT_TRUE(w.ok());
    EXPECT_FALSE(w->add_memory_region(0, random_bytes(2u << 20, 1), Encoding::kRaw).ok());
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_FALSE(exists(path + ".tmp"));
}

TEST(SnapshotWriteFailure, UnwritableDirectory) {
  TempDir dir;
  std::string path = dir.file("no/such/dir/x.snap");
  auto w = SnapshotWriter::create(path, sample_info());
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), "snapshot " + path + ": create " + path + ".tmp: No such file or directory");
}

}  // namespace
}  // namespace vmm::snap::testing
