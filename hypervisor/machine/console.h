// Console: connects COM1 to the user. Output goes to stdout or a file; input
// comes from stdin, with the terminal in raw mode when stdin is a TTY
// (restored on exit, whatever the exit path). On a TTY, Ctrl-A x quits, as in
// QEMU, since Ctrl-C belongs to the guest.
#pragma once

#include <termios.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hypervisor/base/event_fd.h"
#include "hypervisor/base/result.h"
#include "hypervisor/base/unique_fd.h"

namespace vmm::hv {

struct ConsoleConfig {
  // Empty: stdin/stdout. Otherwise output is appended to this file and
  // there is no input.
  std::string output_file;
};

class Console {
 public:
  // Where input bytes go; returns how many it took (the rest are offered
  // again after notify_space()).
  using InputSink = std::function<size_t(std::span<const uint8_t>)>;

  static Result<std::unique_ptr<Console>> open(const ConsoleConfig& config);
  ~Console();

  void write(std::span<const uint8_t> bytes);
  // Starts the input thread. on_quit runs when the user types Ctrl-A x.
  Result<void> start_input(InputSink sink, std::function<void()> on_quit);
  // The guest made room for more input.
  void notify_space() { space_->signal(); }

 private:
  Console() = default;
  void input_loop();
  // Feeds pending_ to the sink; returns false when it is full.
  bool flush_pending();

  int out_fd_ = STDOUT_FILENO;
  UniqueFd owned_out_;
  bool has_input_ = false;
  std::optional<termios> saved_termios_;
  std::optional<EventFd> stop_;
  std::optional<EventFd> space_;
  InputSink sink_;
  std::function<void()> on_quit_;
  std::vector<uint8_t> pending_;
  bool escape_ = false;
  std::thread thread_;
  std::mutex write_mutex_;
};

}  // namespace vmm::hv
