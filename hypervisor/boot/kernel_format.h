// Which boot protocol a kernel image needs, so the CLI can pick a loader:
//   kElfPvh    an ELF file that is not known to lack a PVH entry note: boot
//              it with load_pvh (pvh.h), which also reports any malformation
//              precisely;
//   kElfNoPvh  a well-formed ELF without XEN_ELFNOTE_PHYS32_ENTRY: booted with
//              the Linux 64-bit boot protocol (linux_boot.h), as a vmlinux
//              built without CONFIG_PVH needs;
//   kBzImage   a Linux bzImage (boot.rst: "HdrS" at 0x202): the Linux 64-bit
//              boot protocol with a zero page (linux_boot.h);
//   kUnknown   anything else.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "hypervisor/base/result.h"

namespace vmm::hv::boot {

enum class KernelFormat { kElfPvh, kElfNoPvh, kBzImage, kUnknown };

KernelFormat detect_kernel_format(std::span<const uint8_t> image);

std::string_view kernel_format_name(KernelFormat format);

// Succeeds for the formats this build can boot (kElfPvh); otherwise a
// one-line "kernel image: ..." error saying what the image is and why it
// cannot be booted.
Result<void> check_kernel_bootable(KernelFormat format);

}  // namespace vmm::hv::boot
