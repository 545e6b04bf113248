// Placing an ELF kernel's PT_LOAD segments in guest RAM, shared by the PVH
// loader (pvh.cc) and the Linux vmlinux loader (linux_boot.cc) so that both
// accept the same images and report a bad one the same way. Checking and
// writing are separate steps: the loaders validate everything before they
// write anything, so a failure leaves guest memory untouched.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/boot/elf.h"
#include "hypervisor/boot/x86_layout.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

// Errc::kBadImage with the "kernel image: " prefix every loader error about
// the kernel file carries.
Error bad_image(std::string message);

// `a` must be a power of two.
constexpr uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
constexpr uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
// Rounded up, so a message never claims less memory than is needed.
constexpr uint64_t mib_ceil(uint64_t bytes) { return (bytes + kMiB - 1) / kMiB; }

// The tail of a "needs more memory" error for something that must end at
// `end`: "needs RAM up to 0x... (N MiB) but the guest's low RAM ends at 0x...
// (M MiB); give the guest more memory". Tells the user what size to ask for.
std::string memory_needed(uint64_t end, const GuestMemory& mem);

// Where the loaded segments lie: [start, end).
struct SegmentExtent {
  uint64_t start;  // lowest p_paddr
  uint64_t end;    // highest p_paddr + p_memsz
};

// Checks that every PT_LOAD segment with a non-zero p_memsz can be placed:
// at or above 1 MiB (below are the boot structures), not wrapping, inside
// the low RAM region (low_ram_end: kernels never straddle the PCI hole),
// not overlapping another. Fails if there is no such segment.
Result<SegmentExtent> check_segments(const GuestMemory& mem, const std::vector<ElfSegment>& loads);

// Writes each checked segment: its file bytes from `elf`, then zeros up to
// p_memsz, since the RAM may not be fresh (e.g. after a reboot).
Result<void> write_segments(GuestMemory& mem, std::span<const uint8_t> elf, const std::vector<ElfSegment>& loads);

}  // namespace vmm::hv::boot
