// The same test guest under QEMU microvm: it must reach `ready` there too,
// which keeps the guest honest (it cannot lean on vmm-only behaviour) and
// makes it the common workload for the benchmarks.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/kvm/kvm_test_support.h"

namespace vmm::test {
namespace {

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

class TestGuestUnderQemu : public KvmTest {
 protected:
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    if (access(kQemu, X_OK) != 0) GTEST_SKIP() << "QEMU is not installed (apt-get install qemu-system-x86)";
  }
};

TEST_F(TestGuestUnderQemu, ReachesReady) {
  VmmProcess qemu({kQemu, "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", "256M",
                   "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
                   "-no-reboot", "-kernel", testguest_elf(), "-append", "ready exit code=0", "-device",
                   "isa-debug-exit,iobase=0xf4,iosize=0x04"});
  auto line = qemu.wait_for_line("TG ready");
  ASSERT_TRUE(line) << qemu.output() << qemu.errors();
  EXPECT_EQ(qemu.wait_exit(), 1) << qemu.errors();
}

}  // namespace
}  // namespace vmm::test
