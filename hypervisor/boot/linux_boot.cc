#include "hypervisor/boot/linux_boot.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "hypervisor/boot/bzimage.h"
#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/elf.h"
#include "hypervisor/boot/elf_segments.h"
#include "hypervisor/boot/linux_entry_state.h"
#include "hypervisor/boot/mptable.h"
#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

// What the two loaders share once the kernel's place is known.
struct Plan {
  uint64_t kernel_gpa;
  uint64_t kernel_end;
  std::optional<GpaRange> initrd;
  ZeroPage zero_page;
};

Result<void> check_cmdline(std::string_view cmdline, uint32_t limit) {
  if (cmdline.size() > limit || cmdline.size() + 1 > kCmdlineMaxSize) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("kernel command line: {} bytes is longer than the kernel's limit of {}",
                                   cmdline.size(), std::min<uint64_t>(limit, kCmdlineMaxSize - 1)));
  }
  if (cmdline.find('\0') != std::string_view::npos) {
    return Error::make(Errc::kInvalidArgument, "kernel command line: contains a NUL byte");
  }
  return {};
}

Result<void> check_low_memory(const GuestMemory& mem) {
  if (!mem.contains(0, kHighMemStart)) {
    return Error::make(Errc::kInvalidArgument,
                       "guest RAM does not cover the first MiB, where the Linux boot data goes");
  }
  return {};
}

// The initrd, page-aligned as high as it may go: below the end of low RAM
// and below initrd_addr_max (the highest byte it may occupy), above `floor`.
Result<GpaRange> place_initrd(uint64_t low_end, uint64_t floor, uint32_t initrd_addr_max, uint64_t size) {
  if (size == 0) return Error::make(Errc::kInvalidArgument, "initrd: file is empty");
  const uint64_t top = std::min<uint64_t>(low_end, uint64_t{initrd_addr_max} + 1);
  floor = align_up(floor, kPageSize);
  if (size > top || align_down(top - size, kPageSize) < floor) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("initrd: {} MiB does not fit between the kernel's end {:#x} and {:#x} (the end "
                                   "of low RAM or the kernel's initrd_addr_max); give the guest more memory",
                                   mib_ceil(size), floor, top));
  }
  return GpaRange{align_down(top - size, kPageSize), size};
}

// Fills in what both loaders put in the zero page, and places the initrd.
Result<void> finish_plan(const GuestMemory& mem, const LinuxConfig& config, uint32_t initrd_addr_max, Plan& plan) {
  const uint64_t low_end = low_ram_end(ram_layout_of(mem));
  if (config.initrd) {
    plan.initrd = VMM_TRY(place_initrd(low_end, plan.kernel_end, initrd_addr_max, config.initrd->size()));
  }
  ZeroPage& zp = plan.zero_page;
  zp.set(zp::kTypeOfLoader, kTypeOfLoaderUndefined);
  uint8_t loadflags = zp.get(zp::kLoadflags);
  loadflags = static_cast<uint8_t>((loadflags | kLoadedHigh) & ~(kQuietFlag | kKeepSegments | kKaslrFlag));
  zp.set(zp::kLoadflags, loadflags);
  zp.set(zp::kCmdLinePtr, static_cast<uint32_t>(kCmdlineAddr));
  zp.set(zp::kExtCmdLinePtr, uint32_t{0});
  if (plan.initrd) {
    zp.set(zp::kRamdiskImage, static_cast<uint32_t>(plan.initrd->gpa));
    zp.set(zp::kRamdiskSize, static_cast<uint32_t>(plan.initrd->size));
  } else {
    zp.set(zp::kRamdiskImage, uint32_t{0});
    zp.set(zp::kRamdiskSize, uint32_t{0});
  }
  zp.set(zp::kExtRamdiskImage, uint32_t{0});
  zp.set(zp::kExtRamdiskSize, uint32_t{0});
  zp.set(zp::kSetupData, uint64_t{0});
  zp.set(zp::kAcpiRsdpAddr, uint64_t{0});
  const auto map = e820_map(ram_layout_of(mem));
  VMM_CHECK(zp.set_e820(map));  // a handful of RAM regions, never more than 128
  return {};
}

Result<void> write_common(GuestMemory& mem, const LinuxConfig& config, const Plan& plan) {
  if (plan.initrd) VMM_TRY_CTX(mem.write(plan.initrd->gpa, *config.initrd), "initrd");
  std::vector<uint8_t> cmdline(config.cmdline.begin(), config.cmdline.end());
  cmdline.push_back(0);
  VMM_TRY_CTX(mem.write(kCmdlineAddr, cmdline), "kernel command line");
  VMM_TRY_CTX(mem.write(kZeroPageAddr, plan.zero_page.bytes()), "zero page");
  VMM_TRY(write_mptable(mem, config.cpus));
  VMM_TRY(write_linux_boot_structures(mem));
  return {};
}

}  // namespace

Result<LinuxBootInfo> load_bzimage(GuestMemory& mem, std::span<const uint8_t> image, const LinuxConfig& config) {
  VMM_TRY(check_low_memory(mem));
  const BzImage bz = VMM_TRY_CTX(parse_bzimage(image), "kernel image");
  VMM_TRY(check_cmdline(config.cmdline, bz.cmdline_size));
  VMM_TRY(build_mptable(config.cpus));

  // boot.rst, init_size: a relocatable kernel runs at its load address
  // raised to pref_address and aligned up to kernel_alignment; it needs
  // init_size bytes from there. Loading it right there saves the
  // decompressor a copy.
  Plan plan;
  plan.kernel_gpa = align_up(std::max<uint64_t>(kHighMemStart, bz.pref_address), bz.kernel_alignment);
  const uint64_t needed = std::max<uint64_t>(bz.init_size, bz.kernel.size());
  plan.kernel_end = plan.kernel_gpa + needed;
  if (plan.kernel_gpa >= kPciHoleStart || plan.kernel_end > low_ram_end(ram_layout_of(mem))) {
    return bad_image(fmt::format("bzImage loaded at {:#x} with init_size {:#x} {}", plan.kernel_gpa, bz.init_size,
                                 memory_needed(plan.kernel_end, mem)));
  }
  plan.zero_page.set_setup_header(bz.setup_header);
  VMM_TRY(finish_plan(mem, config, bz.initrd_addr_max, plan));

  // Now write.
  VMM_TRY_CTX(mem.write(plan.kernel_gpa, bz.kernel), "kernel image");
  VMM_TRY(write_common(mem, config, plan));
  return LinuxBootInfo{plan.kernel_gpa + kBzImage64BitEntryOffset, kZeroPageAddr, plan.kernel_gpa, plan.kernel_end,
                       plan.initrd};
}

Result<LinuxBootInfo> load_linux_elf(GuestMemory& mem, std::span<const uint8_t> elf, const LinuxConfig& config) {
  VMM_TRY(check_low_memory(mem));
  auto image = VMM_TRY_CTX(parse_elf(elf), "kernel image");
  if (!image.is_64bit) {
    return bad_image("32-bit ELF without a PVH entry note: the Linux 64-bit boot protocol needs a 64-bit vmlinux");
  }
  VMM_TRY(check_cmdline(config.cmdline, kVmlinuxCmdlineSize));
  VMM_TRY(build_mptable(config.cpus));
  const auto [start, end] = VMM_TRY(check_segments(mem, image.loads));
  const bool entry_loaded = std::any_of(image.loads.begin(), image.loads.end(), [&](const ElfSegment& s) {
    return image.entry >= s.paddr && image.entry - s.paddr < s.filesz;
  });
  if (!entry_loaded) {
    return bad_image(fmt::format("entry point {:#x} is not inside a loaded segment (a vmlinux's e_entry is the "
                                 "physical address of startup_64)",
                                 image.entry));
  }

  Plan plan;
  plan.kernel_gpa = start;
  plan.kernel_end = end;
  ZeroPage& zp = plan.zero_page;
  zp.set(zp::kBootFlag, kBootFlagMagic);
  zp.set(zp::kHeader, kHdrSMagic);
  zp.set(zp::kKernelAlignment, kVmlinuxKernelAlignment);
  zp.set(zp::kCmdlineSize, kVmlinuxCmdlineSize);
  zp.set(zp::kInitrdAddrMax, kVmlinuxInitrdAddrMax);
  VMM_TRY(finish_plan(mem, config, kVmlinuxInitrdAddrMax, plan));

  // Now write: file bytes, then zeros to p_memsz (the RAM may not be fresh).
  VMM_TRY_CTX(write_segments(mem, elf, image.loads), "kernel image");
  VMM_TRY(write_common(mem, config, plan));
  return LinuxBootInfo{image.entry, kZeroPageAddr, plan.kernel_gpa, plan.kernel_end, plan.initrd};
}

}  // namespace vmm::hv::boot
