#include "hypervisor/boot/pvh.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/mptable.h"
#include "hypervisor/boot/vcpu_boot_state.h"
#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

Error bad_image(std::string message) { return Error::make(Errc::kBadImage, "kernel image: " + std::move(message)); }

uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
uint64_t mib_ceil(uint64_t bytes) { return (bytes + kMiB - 1) / kMiB; }

Result<void> check_cmdline(std::string_view cmdline) {
  if (cmdline.size() + 1 > kCmdlineMaxSize) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("kernel command line: {} bytes is longer than the limit of {}", cmdline.size(),
                                   kCmdlineMaxSize - 1));
  }
  if (cmdline.find('\0') != std::string_view::npos) {
    return Error::make(Errc::kInvalidArgument, "kernel command line: contains a NUL byte");
  }
  return {};
}

// Checks that every PT_LOAD segment can be placed: in RAM, at or above
// 1 MiB, not wrapping, not overlapping another. Returns the highest end.
Result<uint64_t> check_segments(const GuestMemory& mem, const std::vector<ElfSegment>& loads) {
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
    if (!mem.contains(s.paddr, s.memsz)) {
      if (end <= kPciHoleStart) {
        return bad_image(fmt::format("segment at {:#x} needs {} MiB but the guest has {} MiB", s.paddr,
                                     mib_ceil(end), mem.total_size() / kMiB));
      }
      return bad_image(fmt::format("segment at {:#x} with size {:#x} is outside guest RAM", s.paddr, s.memsz));
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
  return placed.back().paddr + placed.back().memsz;
}

// Where the initrd goes: page-aligned at the top of the RAM below 3 GiB,
// where it is out of the way of anything the kernel allocates early, and
// clear of every segment.
Result<GpaRange> place_initrd(const GuestMemory& mem, const std::vector<ElfSegment>& loads, uint64_t size) {
  if (size == 0) return Error::make(Errc::kInvalidArgument, "initrd: file is empty");
  const uint64_t top = low_ram_end(ram_layout_of(mem));
  uint64_t floor = kHighMemStart;
  for (const auto& s : loads) {
    if (s.memsz != 0 && s.paddr < top) floor = std::max(floor, align_up(s.paddr + s.memsz, kPageSize));
  }
  if (size > top || align_down(top - size, kPageSize) < floor) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("initrd: {} MiB does not fit in guest RAM ({} MiB free between the kernel and "
                                   "{:#x}); give the guest more memory",
                                   mib_ceil(size), floor < top ? (top - floor) / kMiB : 0, top));
  }
  return GpaRange{align_down(top - size, kPageSize), size};
}

Result<void> write_segment(GuestMemory& mem, std::span<const uint8_t> elf, const ElfSegment& s) {
  VMM_TRY(mem.write(s.paddr, elf.subspan(s.offset, s.filesz)));
  // Zero the rest (.bss): the RAM may not be fresh, e.g. after a reboot.
  static const uint8_t kZeros[64 * 1024] = {};
  for (uint64_t done = s.filesz; done < s.memsz;) {
    uint64_t n = std::min<uint64_t>(sizeof kZeros, s.memsz - done);
    VMM_TRY(mem.write(s.paddr + done, std::span(kZeros, n)));
    done += n;
  }
  return {};
}

bool is_pvh_entry_note(const ElfNote& note) { return note.name == "Xen" && note.type == kXenElfnotePhys32Entry; }

}  // namespace

bool has_pvh_entry_note(const ElfImage& image) {
  return std::any_of(image.notes.begin(), image.notes.end(), is_pvh_entry_note);
}

Result<uint32_t> find_pvh_entry(const ElfImage& image) {
  for (const auto& note : image.notes) {
    if (!is_pvh_entry_note(note)) continue;
    uint64_t entry = 0;
    if (note.desc.size() == 4) {
      uint32_t v;
      std::memcpy(&v, note.desc.data(), 4);
      entry = v;
    } else if (note.desc.size() == 8) {
      std::memcpy(&entry, note.desc.data(), 8);
    } else {
      return bad_image(fmt::format("PVH entry note has a {}-byte descriptor (want 4 or 8)", note.desc.size()));
    }
    if (entry > UINT32_MAX) return bad_image(fmt::format("PVH entry {:#x} is above 4 GiB", entry));
    return static_cast<uint32_t>(entry);
  }
  return bad_image("no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

Result<PvhBootInfo> load_pvh(GuestMemory& mem, std::span<const uint8_t> elf, const PvhConfig& config) {
  // Validate everything first: a failure must not leave half a guest behind.
  if (!mem.contains(0, kHighMemStart)) {
    return Error::make(Errc::kInvalidArgument, "guest RAM does not cover the first MiB, where PVH boot data goes");
  }
  VMM_TRY(check_cmdline(config.cmdline));
  VMM_TRY(build_mptable(config.cpus));
  auto image = VMM_TRY_CTX(parse_elf(elf), "kernel image");
  const uint32_t entry = VMM_TRY(find_pvh_entry(image));
  const uint64_t kernel_end = VMM_TRY(check_segments(mem, image.loads));
  const bool entry_loaded = std::any_of(image.loads.begin(), image.loads.end(), [&](const ElfSegment& s) {
    return entry >= s.paddr && entry - s.paddr < s.filesz;
  });
  if (!entry_loaded) return bad_image(fmt::format("PVH entry {:#x} is not inside a loaded segment", entry));

  std::optional<GpaRange> initrd;
  if (config.initrd) initrd = VMM_TRY(place_initrd(mem, image.loads, config.initrd->size()));

  std::vector<HvmMemmapEntry> memmap;
  for (const auto& e : e820_map(ram_layout_of(mem))) {
    memmap.push_back(HvmMemmapEntry{e.addr, e.size, static_cast<uint32_t>(e.type), 0});
  }
  VMM_CHECK(memmap.size() <= kPvhMaxMemmapEntries);  // a handful of RAM regions, never more

  // Now write.
  for (const auto& s : image.loads) VMM_TRY_CTX(write_segment(mem, elf, s), "kernel image");
  HvmStartInfo start{};
  start.magic = kHvmStartMagic;
  start.version = 1;
  if (initrd) {
    VMM_TRY_CTX(mem.write(initrd->gpa, *config.initrd), "initrd");
    VMM_TRY(mem.write_obj(kPvhModlistAddr, HvmModlistEntry{initrd->gpa, initrd->size, 0, 0}));
    start.nr_modules = 1;
    start.modlist_paddr = kPvhModlistAddr;
  }
  std::vector<uint8_t> cmdline(config.cmdline.begin(), config.cmdline.end());
  cmdline.push_back(0);
  VMM_TRY_CTX(mem.write(kCmdlineAddr, cmdline), "kernel command line");
  start.cmdline_paddr = kCmdlineAddr;
  VMM_TRY(mem.write(kPvhMemmapAddr, std::span(reinterpret_cast<const uint8_t*>(memmap.data()),
                                              memmap.size() * sizeof(HvmMemmapEntry))));
  start.memmap_paddr = kPvhMemmapAddr;
  start.memmap_entries = static_cast<uint32_t>(memmap.size());
  VMM_TRY(mem.write_obj(kPvhStartInfoAddr, start));
  VMM_TRY(write_mptable(mem, config.cpus));
  VMM_TRY(write_boot_gdt(mem));
  return PvhBootInfo{entry, kPvhStartInfoAddr, kernel_end, initrd};
}

}  // namespace vmm::hv::boot
