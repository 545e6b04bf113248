#include "hypervisor/base/log.h"

#include <cstdio>
#include <mutex>

namespace vmm::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kWarn)};
std::mutex g_write_mutex;
constexpr const char* kNames[] = {"error", "warning", "info", "debug"};
}  // namespace

void set_level(Level l) { g_level.store(static_cast<int>(l)); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void write(Level l, std::string_view message) {
  std::lock_guard lock(g_write_mutex);
  std::fprintf(stderr, "vmm: %s: %.*s\n", kNames[static_cast<int>(l)], static_cast<int>(message.size()),
               message.data());
}

}  // namespace vmm::log
