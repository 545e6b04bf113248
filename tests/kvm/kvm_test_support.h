// Shared pieces of the KVM tests: a fixture that skips (visibly) without
// /dev/kvm, and a launcher for the test guest under vmm.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/kvm/vmm_process.h"

namespace vmm::test {

class KvmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = kvm_skip_reason();
    if (!reason.empty()) GTEST_SKIP() << reason;
  }
};

// `vmm run --kernel testguest.elf --append APPEND EXTRA...`
inline std::vector<std::string> vmm_run_args(const std::string& append, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {vmm_binary(), "run", "--kernel", testguest_elf(), "--append", append};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// The value of `key=` in a `TG ...` line, or "" when absent.
inline std::string tg_field(const std::string& line, const std::string& key) {
  std::string needle = " " + key + "=";
  size_t at = line.find(needle);
  if (at == std::string::npos) return "";
  size_t start = at + needle.size();
  size_t end = line.find_first_of(" \r\n", start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace vmm::test
