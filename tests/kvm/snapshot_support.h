// Helpers for the snapshot tests: a guest under `vmm run --api`, the CLI
// verbs run as a user would, and reading counter sequences off a console.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/fakes/temp_dir.h"
#include "tests/kvm/kvm_test_support.h"

namespace vmm::test {

// A scratch directory removed with everything in it.
using ScratchDir = TempDir;

// Runs a vmm subcommand to completion; returns {status, stdout+stderr}.
struct CliResult {
  int status;
  std::string out;
  std::string err;
};
inline CliResult run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), vmm_binary());
  VmmProcess p(std::move(args));
  int status = p.wait_exit(std::chrono::seconds(120));
  return {status, p.output(), p.errors()};
}

inline CliResult snapshot(const std::string& socket, const std::string& file, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"snapshot", "--api", socket, "-o", file};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_cli(args);
}

// Waits until `path` exists (the VMM created its QMP socket), with inotify
// rather than polling; false after `timeout`.
inline bool wait_for_socket(const std::string& path, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  std::filesystem::path p(path);
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return false;
  inotify_add_watch(fd, p.parent_path().c_str(), IN_CREATE | IN_MOVED_TO);
  auto until = std::chrono::steady_clock::now() + timeout;
  bool found = false;
  while (!(found = std::filesystem::exists(p))) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) > 0) {
      char buf[4096];
      while (read(fd, buf, sizeof buf) > 0) {
      }
    }
  }
  close(fd);
  return found;
}

inline CliResult qmp(const std::string& socket, const std::string& json) { return run_cli({"qmp", socket, json}); }

// The counter values in a console transcript, in order (complete lines only).
inline std::vector<int> counter_values(const std::string& text) {
  static const std::string kPrefix = "TG counter n=";
  std::vector<int> out;
  for (size_t at = text.find(kPrefix); at != std::string::npos; at = text.find(kPrefix, at + 1)) {
    size_t digits = at + kPrefix.size(), end = digits;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end > digits && end < text.size() && text[end] == '\n') out.push_back(std::stoi(text.substr(digits, end - digits)));
  }
  return out;
}

// True when values are first, first+1, ... with no gap and no repeat.
inline ::testing::AssertionResult consecutive(const std::vector<int>& values, int first) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] != first + static_cast<int>(i)) {
      return ::testing::AssertionFailure() << "value " << i << " is " << values[i] << ", expected "
                                           << first + static_cast<int>(i);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace vmm::test
