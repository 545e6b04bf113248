// VmmProcess: runs `vmm` (or QEMU) as a child process the way a user would,
// and reads its console line by line. Waits are bounded by deadlines that only
// turn a hang into a failure; they never decide an outcome.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vmm::test {

class VmmProcess {
 public:
  // argv[0] is the program path. stdin is /dev/null.
  explicit VmmProcess(std::vector<std::string> argv);
  ~VmmProcess();  // kills the child if it is still running

  // The next console line that contains `needle` (lines before it are kept
  // in output()), or nullopt at EOF or when the deadline passes.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the process to end; returns its exit status, or -1 on timeout
  // (the child is then killed), or 128+N when killed by signal N.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void kill_now();
  // Reads whatever the child has written so far, without waiting. Output
  // written before a synchronous event (a QMP reply, another process's
  // exit) is complete by then, so this sees all of it.
  void drain();

  const std::string& output() const { return out_; }
  const std::string& errors() const { return err_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads what is available from stdout/stderr until `until` or EOF.
  bool pump(std::chrono::steady_clock::time_point until);
  // One poll of both pipes: -1 when nothing became ready in time, else bit 0
  // set when stdout gave bytes and bit 1 when stderr did (0: only EOFs).
  int read_ready(int timeout_ms);

  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  size_t scanned_ = 0;  // out_ before this offset has been returned as lines
  std::optional<int> status_;
};

// Paths from the build (set by meson), and whether the host can run KVM tests.
std::string vmm_binary();
std::string testguest_elf();
// Empty when /dev/kvm is usable; otherwise the reason to skip.
std::string kvm_skip_reason();

}  // namespace vmm::test
