#include "hypervisor/base/result.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace vmm {

Error Error::sys(int err, std::string_view operation) {
  return Error(Errc::kSys, err, std::string(operation) + ": " + std::strerror(err));
}

void check_failed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "vmm: internal error: check failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}

}  // namespace vmm
