#include "hypervisor/base/result.h"

#include <gtest/gtest.h>

namespace vmm {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Error::make(Errc::kInvalidArgument, "not positive");
  return v;
}

Result<int> doubled(int v) {
  int x = VMM_TRY(parse_positive(v));
  return 2 * x;
}

Result<void> checked(int v) {
  VMM_TRY_CTX(parse_positive(v), "field count");
  return {};
}

TEST(Result, CarriesValueOrError) {
  auto good = doubled(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "not positive");
}

TEST(Result, ContextChainsOutermostFirst) {
  auto r = checked(0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field count: not positive");
  auto outer = std::move(r).context("section uart0");
  EXPECT_EQ(outer.error().message(), "section uart0: field count: not positive");
  EXPECT_TRUE(checked(3).ok());
}

TEST(Result, SysErrorNamesTheOperationAndErrno) {
  Error e = Error::sys(ENOENT, "open /dev/kvm");
  EXPECT_EQ(e.code(), Errc::kSys);
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(e.message(), "open /dev/kvm: No such file or directory");
}

TEST(ResultDeathTest, CheckAbortsOnBrokenInvariant) {
  EXPECT_DEATH(VMM_CHECK(1 + 1 == 3), "check failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace vmm
