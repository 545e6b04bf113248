#include "tests/kvm/vmm_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace vmm::test {

VmmProcess::VmmProcess(std::vector<std::string> argv) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // The child must not inherit a test's blocked signals.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  if (posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ) != 0) pid_ = -1;
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

VmmProcess::~VmmProcess() {
  kill_now();
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void VmmProcess::kill_now() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}

int VmmProcess::read_ready(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int n = poll(fds, 2, timeout_ms);
  if (n < 0 && errno == EINTR) return 0;
  if (n <= 0) return -1;
  int got = 0;
  for (int i = 0; i < 2; ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buf[4096];
    ssize_t r = read(fds[i].fd, buf, sizeof buf);
    int& fd = i == 0 ? out_fd_ : err_fd_;
    if (r <= 0) {
      close(fd);
      fd = -1;
      continue;
    }
    (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(r));
    got |= i == 0 ? 1 : 2;
  }
  return got;
}

bool VmmProcess::pump(std::chrono::steady_clock::time_point until) {
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() < 0) return false;
    int got = read_ready(static_cast<int>(left.count()));
    if (got < 0) return false;
    if ((got & 1) || out_fd_ < 0) return true;
  }
  return false;
}

void VmmProcess::drain() {
  while ((out_fd_ >= 0 || err_fd_ >= 0) && read_ready(0) >= 0) {
  }
}

std::optional<std::string> VmmProcess::wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t nl;
    while ((nl = out_.find('\n', scanned_)) != std::string::npos) {
      std::string line = out_.substr(scanned_, nl - scanned_);
      scanned_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find(needle) != std::string::npos) return line;
    }
    if (out_fd_ < 0 || !pump(until)) return std::nullopt;
  }
}

int VmmProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  if (pid_ <= 0) return -1;
  auto until = std::chrono::steady_clock::now() + timeout;
  // Drain the pipes first: a child blocked on a full pipe never exits.
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    if (!pump(until) && std::chrono::steady_clock::now() >= until) {
      kill_now();
      return -1;
    }
  }
  // A pidfd becomes readable when the child exits, so the wait is bounded
  // without polling.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd pfd{pidfd, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    close(pidfd);
    if (n <= 0) {
      kill_now();
      return -1;
    }
  }
  int st = 0;
  if (waitpid(pid_, &st, 0) != pid_) return -1;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return *status_;
}

std::string vmm_binary() { return VMM_BINARY; }
std::string testguest_elf() { return TESTGUEST_ELF; }

std::string kvm_skip_reason() {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::string("/dev/kvm is not usable here: ") + std::strerror(errno);
  close(fd);
  return "";
}

}  // namespace vmm::test
