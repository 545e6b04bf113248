#include "hypervisor/boot/elf_segments.h"

#include <fmt/format.h>

#include <algorithm>

namespace vmm::hv::boot {
namespace {

Result<void> zero_fill(GuestMemory& mem, uint64_t gpa, uint64_t size) {
  static const uint8_t kZeros[64 * 1024] = {};
  for (uint64_t done = 0; done < size;) {
    uint64_t n = std::min<uint64_t>(sizeof kZeros, size - done);
    VMM_TRY(mem.write(gpa + done, std::span(kZeros, n)));
    done += n;
  }
  return {};
}

}  // namespace

Error bad_image(std::string message) { return Error::make(Errc::kBadImage, "kernel image: " + std::move(message)); }

std::string memory_needed(uint64_t end, const GuestMemory& mem) {
  const uint64_t low_end = low_ram_end(ram_layout_of(mem));
  return fmt::format("needs RAM up to {:#x} ({} MiB) but the guest's low RAM ends at {:#x} ({} MiB); give the guest "
                     "more memory",
                     end, mib_ceil(end), low_end, low_end / kMiB);
}

Result<SegmentExtent> check_segments(const GuestMemory& mem, const std::vector<ElfSegment>& loads) {
  const uint64_t low_end = low_ram_end(ram_layout_of(mem));
  std::vector<ElfSegment> placed;
  for (const auto& s : loads) {
    if (s.memsz == 0) continue;
    if (s.paddr + s.memsz < s.paddr) {
      return bad_image(fmt::format("segment at {:#x} with size {:#x} wraps around the address space", s.paddr,
                                   s.memsz));
    }
    const uint64_t end = s.paddr + s.memsz;
    if (s.paddr < kHighMemStart) {
      return bad_image(fmt::format("segment at {:#x} is below 1 MiB, where the boot structures live", s.paddr));
    }
    if (end > low_end) {
      // Below the PCI hole more memory would help; above it nothing would.
      if (end <= kPciHoleStart) return bad_image(fmt::format("segment at {:#x} {}", s.paddr, memory_needed(end, mem)));
      return bad_image(fmt::format("segment at {:#x} with size {:#x} is outside the RAM below 3 GiB", s.paddr,
                                   s.memsz));
    }
    placed.push_back(s);
  }
  if (placed.empty()) return bad_image("no loadable segments");
  std::sort(placed.begin(), placed.end(), [](const auto& a, const auto& b) { return a.paddr < b.paddr; });
  for (size_t i = 1; i < placed.size(); ++i) {
    if (placed[i - 1].paddr + placed[i - 1].memsz > placed[i].paddr) {
      return bad_image(fmt::format("segments at {:#x} and {:#x} overlap", placed[i - 1].paddr, placed[i].paddr));
    }
  }
  uint64_t end = 0;
  for (const auto& s : placed) end = std::max(end, s.paddr + s.memsz);
  return SegmentExtent{placed.front().paddr, end};
}

Result<void> write_segments(GuestMemory& mem, std::span<const uint8_t> elf, const std::vector<ElfSegment>& loads) {
  for (const auto& s : loads) {
    if (s.memsz == 0) continue;  // check_segments skipped it: its p_paddr may be anything
    VMM_TRY(mem.write(s.paddr, elf.subspan(s.offset, s.filesz)));
    VMM_TRY(zero_fill(mem, s.paddr + s.filesz, s.memsz - s.filesz));
  }
  return {};
}

}  // namespace vmm::hv::boot
