#include "hypervisor/machine/console.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace vmm::hv {
namespace {
constexpr uint8_t kCtrlA = 0x01;
}  // namespace

Result<std::unique_ptr<Console>> Console::open(const ConsoleConfig& config) {
  std::unique_ptr<Console> c(new Console());
  c->stop_.emplace(VMM_TRY(EventFd::create()));
  c->space_.emplace(VMM_TRY(EventFd::create()));
  if (!config.output_file.empty()) {
    int fd = ::open(config.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Error::sys(errno, "open console file " + config.output_file);
    c->owned_out_.reset(fd);
    c->out_fd_ = fd;
    return c;
  }
  c->has_input_ = true;
  if (isatty(STDIN_FILENO)) {
    termios t{};
    if (tcgetattr(STDIN_FILENO, &t) == 0) {
      c->saved_termios_ = t;
      // Raw input (every key to the guest, no echo, no signals) but keep
      // output processing so the guest's "\n" still starts a new line.
      t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
      t.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
      t.c_cflag |= CS8;
      t.c_cc[VMIN] = 1;
      t.c_cc[VTIME] = 0;
      tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
  }
  return c;
}

Console::~Console() {
  if (thread_.joinable()) {
    stop_->signal();
    thread_.join();
  }
  if (saved_termios_) tcsetattr(STDIN_FILENO, TCSANOW, &*saved_termios_);
}

void Console::write(std::span<const uint8_t> bytes) {
  std::lock_guard lock(write_mutex_);
  while (!bytes.empty()) {
    ssize_t n = ::write(out_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a closed console drops output; the guest keeps running
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
}

Result<void> Console::start_input(InputSink sink, std::function<void()> on_quit) {
  if (!has_input_) return {};
  sink_ = std::move(sink);
  on_quit_ = std::move(on_quit);
  thread_ = std::thread([this] { input_loop(); });
  return {};
}

bool Console::flush_pending() {
  while (!pending_.empty()) {
    size_t taken = sink_(pending_);
    if (taken == 0) return false;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(taken));
  }
  return true;
}

void Console::input_loop() {
  bool stdin_open = true;
  while (true) {
    bool want_input = stdin_open && pending_.empty();
    pollfd fds[3] = {{stop_->fd(), POLLIN, 0}, {space_->fd(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int n = ::poll(fds, want_input ? 3 : 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[0].revents & POLLIN)) return;
    if (fds[1].revents & POLLIN) {
      space_->drain();
      flush_pending();
    }
    if (want_input && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      uint8_t buf[256];
      ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        stdin_open = false;  // EOF: the guest simply gets no more input
        continue;
      }
      for (ssize_t i = 0; i < got; ++i) {
        uint8_t b = buf[i];
        if (saved_termios_) {
          if (escape_) {
            escape_ = false;
            if (b == 'x') {
              on_quit_();
              return;
            }
            if (b != kCtrlA) pending_.push_back(kCtrlA);
          } else if (b == kCtrlA) {
            escape_ = true;
            continue;
          }
        }
        pending_.push_back(b);
      }
      flush_pending();
    }
  }
}

}  // namespace vmm::hv
