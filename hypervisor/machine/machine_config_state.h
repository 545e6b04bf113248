// MachineConfigState: the "machine" section of a snapshot — what restore
// needs to rebuild the machine with no other flags: the memory layout, the
// vCPU count, the TSC frequency the guest saw, and the boot sources (kept so
// that a restored guest can still be reset, which re-loads its kernel).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv {

struct RegionState {
  uint64_t gpa = 0;
  uint64_t size = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("gpa", gpa), ar.field("size", size);
  }
};

struct MachineConfigState {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMaxRegions = 64;
  static constexpr size_t kMaxPath = 4096;
  static constexpr size_t kMaxCmdline = 65536;

  std::vector<RegionState> memory;
  uint32_t cpus = 0;
  uint32_t tsc_khz = 0;
  std::string kernel_path;
  std::string initrd_path;
  std::string cmdline;

  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.vector("memory", memory, kMaxRegions);
    ar.field("cpus", cpus);
    ar.field("tsc_khz", tsc_khz);
    ar.string("kernel_path", kernel_path, kMaxPath);
    ar.string("initrd_path", initrd_path, kMaxPath);
    ar.string("cmdline", cmdline, kMaxCmdline);
  }

  std::vector<RegionSpec> layout() const {
    std::vector<RegionSpec> out;
    for (const auto& r : memory) out.push_back(RegionSpec{r.gpa, r.size});
    return out;
  }
};

// Bounds a decoded config before anything is built from it.
inline Result<void> validate_machine_config(const MachineConfigState& s, uint32_t max_vcpus) {
  if (s.cpus == 0 || s.cpus > max_vcpus) {
    return Error::make(Errc::kBadSnapshot,
                       "machine: the snapshot has " + std::to_string(s.cpus) + " vCPUs; this host allows 1 to " +
                           std::to_string(max_vcpus));
  }
  if (s.memory.empty()) return Error::make(Errc::kBadSnapshot, "machine: no memory regions");
  uint64_t total = 0;
  for (const auto& r : s.memory) {
    if (r.size == 0 || r.gpa % kPageSize || r.size % kPageSize || r.gpa + r.size < r.gpa || r.size > (1ull << 40)) {
      return Error::make(Errc::kBadSnapshot, "machine: memory region is not page aligned or too large");
    }
    total += r.size;
  }
  if (total > (1ull << 40)) return Error::make(Errc::kBadSnapshot, "machine: more than 1 TiB of memory");
  return {};
}

}  // namespace vmm::hv
