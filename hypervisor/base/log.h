// Logging to stderr with a level and a rate limit for guest-triggered
// messages (a guest poking a register in a loop must not flood the host).
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace vmm::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::kWarn) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::kInfo) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (level() >= Level::kDebug) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}

// Allows the first `burst` messages at a call site, then one in 1000, so a
// misbehaving guest stays visible without drowning the console.
class RateLimit {
 public:
  explicit RateLimit(uint32_t burst = 10) : burst_(burst) {}
  bool allow() {
    uint64_t n = count_.fetch_add(1, std::memory_order_relaxed);
    return n < burst_ || n % 1000 == 0;
  }

 private:
  uint32_t burst_;
  std::atomic<uint64_t> count_{0};
};

// guest_warn: a warning caused by guest behaviour, rate-limited per call site.
#define VMM_GUEST_WARN(...)                                  \
  do {                                                       \
    static ::vmm::log::RateLimit vmm_rate_limit_;            \
    if (vmm_rate_limit_.allow()) ::vmm::log::warn(__VA_ARGS__); \
  } while (0)

}  // namespace vmm::log
