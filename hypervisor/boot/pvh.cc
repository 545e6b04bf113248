#include "hypervisor/boot/pvh.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/elf_segments.h"
#include "hypervisor/boot/mptable.h"
#include "hypervisor/boot/vcpu_boot_state.h"
#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

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
  const uint64_t kernel_end = VMM_TRY(check_segments(mem, image.loads)).end;
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
  VMM_TRY_CTX(write_segments(mem, elf, image.loads), "kernel image");
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
