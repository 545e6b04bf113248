// The BIOS E820 memory map (ACPI 6.5 §15, "System Address Map Interfaces")
// derived from the guest's RAM layout. Both boot protocols hand it to the
// kernel in their own encoding: PVH as hvm_memmap_table_entry (pvh.cc), the
// Linux boot protocol as boot_e820_entry in the zero page.
#pragma once

#include <cstdint>
#include <vector>

#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

// Address range types (ACPI 6.5 §15, "Address Range Types"); PVH uses the
// same values (XEN_HVM_MEMMAP_TYPE_*).
enum class E820Type : uint32_t {
  kRam = 1,
  kReserved = 2,
  kAcpi = 3,
  kNvs = 4,
  kUnusable = 5,
};

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;

  uint64_t end() const { return addr + size; }
  friend bool operator==(const E820Entry&, const E820Entry&) = default;
};

// The map for `ram` (sorted or not): every RAM byte appears as RAM except
// [kEbdaStart, kHighMemStart), which is one reserved entry (EBDA, VGA, BIOS
// area: the MP table lives there). So a ram_layout() gives
//   RAM [0, 0x9fc00), reserved [0x9fc00, 1 MiB), RAM [1 MiB, low end),
//   RAM [4 GiB, ...) when there is more than 3 GiB.
// The PCI hole is left out rather than marked reserved, as on QEMU and
// Firecracker: Linux places PCI MMIO in the largest e820 gap below 4 GiB.
// Entries are sorted by address and do not overlap.
std::vector<E820Entry> e820_map(const std::vector<RegionSpec>& ram);

}  // namespace vmm::hv::boot
