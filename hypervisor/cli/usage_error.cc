#include "hypervisor/cli/usage_error.h"

#include <cstdio>
#include <cstdlib>

#include "hypervisor/machine/exit_status.h"

namespace vmm::cli {

int usage_error(const std::string& command, const std::string& message) {
  std::fprintf(stderr, "%s: %s (see '%s --help')\n", command.c_str(), message.c_str(), command.c_str());
  return hv::kExitUsage;
}

uint64_t parse_memory_size(const std::string& text) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return 0;
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  std::string suffix(end);
  unsigned shift;
  if (suffix.empty() || suffix == "M" || suffix == "m" || suffix == "MiB") shift = 20;
  else if (suffix == "G" || suffix == "g" || suffix == "GiB") shift = 30;
  else if (suffix == "K" || suffix == "k" || suffix == "KiB") shift = 10;
  else return 0;
  if (value == 0 || value > (1ull << (40 - shift))) return 0;  // at most 1 TiB
  return static_cast<uint64_t>(value) << shift;
}

}  // namespace vmm::cli
