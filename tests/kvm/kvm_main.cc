// main() of the KVM tests: runs them and then prints one summary line,
// "KVM tests: N ran, M skipped", so a run on a host without /dev/kvm can
// never pass silently.
#include <gtest/gtest.h>

#include <cstdio>

namespace {

class KvmSummary : public ::testing::EmptyTestEventListener {
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override {
    int skipped = unit.skipped_test_count();
    int ran = unit.test_to_run_count() - skipped;
    std::printf("KVM tests: %d ran, %d skipped\n", ran, skipped);
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new KvmSummary);
  return RUN_ALL_TESTS();
}
