#include "hypervisor/boot/bzimage.h"

#include <fmt/format.h>

#include <cstring>

#include "hypervisor/boot/boot_params.h"

namespace vmm::hv::boot {
namespace {

Error bad(std::string message) { return Error::make(Errc::kBadImage, "bzImage: " + std::move(message)); }

template <class T, size_t O>
T read(std::span<const uint8_t> image, Field<T, O>) {
  T v;
  std::memcpy(&v, image.data() + O, sizeof v);
  return v;
}

std::string version_string(uint16_t v) { return fmt::format("{}.{:02}", v >> 8, v & 0xff); }

}  // namespace

Result<BzImage> parse_bzimage(std::span<const uint8_t> image) {
  // Protocol 2.12 headers reach at least to cmdline_size; the checks below
  // read fields up to init_size, present since 2.10.
  if (image.size() < zp::kSetupHeaderEnd) {
    return bad(fmt::format("file is {} bytes, too short for a setup header", image.size()));
  }
  if (read(image, zp::kBootFlag) != kBootFlagMagic) {
    return bad(fmt::format("no boot flag 0xAA55 at 0x1fe (found {:#06x})", read(image, zp::kBootFlag)));
  }
  if (read(image, zp::kHeader) != kHdrSMagic) return bad("no \"HdrS\" magic at 0x202: not a Linux kernel");
  BzImage bz{};
  bz.version = read(image, zp::kVersion);
  if (bz.version < kMinBootProtocol) {
    return bad(fmt::format("boot protocol {} is too old (need {} or newer, Linux 3.8+)", version_string(bz.version),
                           version_string(kMinBootProtocol)));
  }
  // The header ends at 0x202 + the jump's displacement byte (boot.rst,
  // "64-bit boot protocol"); it must cover what 2.12 defines and stay
  // clear of the rest of the zero page.
  const size_t header_end = 0x202 + image[zp::kJump.offset + 1];
  if (header_end < zp::kCmdlineSize.end || header_end > zp::kSetupHeaderMaxEnd) {
    return bad(fmt::format("setup header ends at {:#x}, outside [{:#x}, {:#x}]", header_end, zp::kCmdlineSize.end,
                           zp::kSetupHeaderMaxEnd));
  }
  bz.loadflags = read(image, zp::kLoadflags);
  bz.xloadflags = read(image, zp::kXloadflags);
  if (read(image, zp::kRelocatableKernel) == 0) {
    return bad("kernel is not relocatable (built without CONFIG_RELOCATABLE); vmm needs a relocatable kernel");
  }
  if (!(bz.xloadflags & kXlfKernel64)) {
    return bad("no 64-bit entry point (XLF_KERNEL_64 is clear: a 32-bit kernel?)");
  }
  bz.kernel_alignment = read(image, zp::kKernelAlignment);
  if (bz.kernel_alignment == 0 || (bz.kernel_alignment & (bz.kernel_alignment - 1)) != 0) {
    return bad(fmt::format("kernel_alignment {:#x} is not a power of two", bz.kernel_alignment));
  }
  bz.pref_address = read(image, zp::kPrefAddress);
  bz.init_size = read(image, zp::kInitSize);
  bz.initrd_addr_max = read(image, zp::kInitrdAddrMax);
  bz.cmdline_size = read(image, zp::kCmdlineSize);

  // setup_sects 0 means 4 (boot.rst); then the boot sector itself.
  uint8_t sects = read(image, zp::kSetupSects);
  if (sects == 0) sects = 4;
  const size_t setup_size = (size_t{sects} + 1) * 512;
  if (setup_size >= image.size()) {
    return bad(fmt::format("{} setup sectors reach past the end of the {}-byte file: truncated?", sects,
                           image.size()));
  }
  bz.setup_header = image.subspan(zp::kSetupHeaderStart, header_end - zp::kSetupHeaderStart);
  bz.kernel = image.subspan(setup_size);
  if (bz.kernel.size() <= kBzImage64BitEntryOffset) {
    return bad(fmt::format("protected-mode kernel is only {} bytes", bz.kernel.size()));
  }
  return bz;
}

}  // namespace vmm::hv::boot
