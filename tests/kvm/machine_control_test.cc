// Run control through QMP on a running test guest: stop and cont hold and
// release the guest, system_reset reboots it, quit ends vmm with status 0.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "tests/kvm/snapshot_support.h"

namespace vmm::test {
namespace {

class MachineControl : public KvmTest {
 protected:
  ScratchDir dir_;
  std::string sock_ = dir_ / "qmp.sock";
};

TEST_F(MachineControl, StopHoldsTheGuestAndContReleasesIt) {
  VmmProcess guest(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(guest.wait_for_line("TG counter n=2")) << guest.output() << guest.errors();
  auto stop = qmp(sock_, R"({"execute": "stop"})");
  ASSERT_EQ(stop.status, 0) << stop.err;
  auto status = qmp(sock_, R"({"execute": "query-status"})");
  EXPECT_NE(status.out.find(R"("status": "paused")"), std::string::npos) << status.out;
  guest.drain();
  int last = counter_values(guest.output()).back();
  // While paused nothing is printed: the next line appears only after cont.
  ASSERT_EQ(qmp(sock_, R"({"execute": "cont"})").status, 0);
  ASSERT_TRUE(guest.wait_for_line(fmt::format("TG counter n={}", last + 1))) << guest.output();
  EXPECT_TRUE(consecutive(counter_values(guest.output()), 1)) << guest.output();
}

TEST_F(MachineControl, SystemResetRebootsTheGuest) {
  VmmProcess guest(vmm_run_args("ready counter", {"--api", sock_, "--cpus", "2"}));
  ASSERT_TRUE(guest.wait_for_line("TG counter n=3")) << guest.output() << guest.errors();
  auto reset = qmp(sock_, R"({"execute": "system_reset"})");
  ASSERT_EQ(reset.status, 0) << reset.out << reset.err;
  // The guest boots again from its entry point: ready, then the counter from 1.
  ASSERT_TRUE(guest.wait_for_line("TG ready cpus=2")) << guest.output() << guest.errors();
  ASSERT_TRUE(guest.wait_for_line("TG counter n=1")) << guest.output();
  ASSERT_TRUE(guest.wait_for_line("TG counter n=2")) << guest.output();
}

TEST_F(MachineControl, QuitEndsVmmWithStatusZero) {
  VmmProcess guest(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(guest.wait_for_line("TG counter n=1")) << guest.output() << guest.errors();
  ASSERT_EQ(qmp(sock_, R"({"execute": "quit"})").status, 0);
  EXPECT_EQ(guest.wait_exit(), 0) << guest.errors();
  EXPECT_EQ(guest.errors(), "");
}

TEST_F(MachineControl, ResetOfARestoredGuestIsRefusedAndHarmless) {
  VmmProcess source(vmm_run_args("counter", {"--api", sock_}));
  ASSERT_TRUE(source.wait_for_line("TG counter n=1")) << source.output() << source.errors();
  std::string file = dir_ / "s.vmm";
  ASSERT_EQ(snapshot(sock_, file).status, 0);
  source.kill_now();
  std::string sock2 = dir_ / "restored.sock";
  VmmProcess restored({vmm_binary(), "restore", file, "--api", sock2});
  ASSERT_TRUE(wait_for_socket(sock2)) << restored.errors();
  auto reset = qmp(sock2, R"({"execute": "system_reset"})");
  EXPECT_EQ(reset.status, 1);
  EXPECT_NE(reset.out.find("GenericError"), std::string::npos) << reset.out;
  ASSERT_TRUE(restored.wait_for_line("TG counter n=3")) << restored.output() << restored.errors();
}

}  // namespace
}  // namespace vmm::test
