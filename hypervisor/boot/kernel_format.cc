#include "hypervisor/boot/kernel_format.h"

#include <cstring>

#include "hypervisor/boot/elf.h"
#include "hypervisor/boot/pvh.h"

namespace vmm::hv::boot {
namespace {

// Linux x86 boot protocol (Documentation/arch/x86/boot.rst): the real-mode
// header carries boot_flag 0xAA55 at 0x1FE and the magic "HdrS" at 0x202.
bool is_bzimage(std::span<const uint8_t> image) {
  if (image.size() < 0x206) return false;
  return image[0x1fe] == 0x55 && image[0x1ff] == 0xaa && std::memcmp(image.data() + 0x202, "HdrS", 4) == 0;
}

}  // namespace

KernelFormat detect_kernel_format(std::span<const uint8_t> image) {
  if (has_elf_magic(image)) {
    auto elf = parse_elf(image);
    // A malformed ELF goes to the PVH loader, whose error says what is wrong.
    if (!elf.ok()) return KernelFormat::kElfPvh;
    return has_pvh_entry_note(*elf) ? KernelFormat::kElfPvh : KernelFormat::kElfNoPvh;
  }
  if (is_bzimage(image)) return KernelFormat::kBzImage;
  return KernelFormat::kUnknown;
}

std::string_view kernel_format_name(KernelFormat format) {
  switch (format) {
    case KernelFormat::kElfPvh:
      return "ELF with PVH entry";
    case KernelFormat::kElfNoPvh:
      return "ELF without PVH entry";
    case KernelFormat::kBzImage:
      return "Linux bzImage";
    case KernelFormat::kUnknown:
      break;
  }
  return "unknown";
}

Result<void> check_kernel_bootable(KernelFormat format) {
  switch (format) {
    case KernelFormat::kElfPvh:    // load_pvh
    case KernelFormat::kElfNoPvh:  // load_linux_elf, the Linux 64-bit boot protocol
    case KernelFormat::kBzImage:   // load_bzimage, the Linux 64-bit boot protocol
      return {};
    case KernelFormat::kUnknown:
      break;
  }
  return Error::make(Errc::kBadImage,
                     "kernel image: not an ELF file or a bzImage (no ELF magic, no \"HdrS\" at 0x202)");
}

}  // namespace vmm::hv::boot
