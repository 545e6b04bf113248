// Reading a Linux bzImage's setup header (Documentation/arch/x86/boot.rst,
// "The Real-Mode Kernel Header" and "Details of Header Fields"). The file is
// untrusted user input: every field we rely on is checked here, and the
// result says only what the 64-bit boot protocol needs. Nothing is loaded.
//
// Accepted: boot_flag 0xAA55 and "HdrS", protocol 2.12 or newer (Linux 3.8,
// the first with xloadflags), a relocatable kernel (so it may be put at any
// kernel_alignment boundary), XLF_KERNEL_64 (a 64-bit entry point at load
// address + 0x200), a kernel_alignment that is a power of two, and a
// protected-mode part that is inside the file and not empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "hypervisor/base/result.h"

namespace vmm::hv::boot {

// Boot protocol 2.12: xloadflags (and so XLF_KERNEL_64) first appear there.
constexpr uint16_t kMinBootProtocol = 0x020c;
// The 64-bit entry point (startup_64) relative to the protected-mode code.
constexpr uint64_t kBzImage64BitEntryOffset = 0x200;

// What a loader needs from a validated bzImage. The spans point into the
// image passed to parse_bzimage, which must outlive this.
struct BzImage {
  uint16_t version;           // boot protocol, e.g. 0x020f
  uint8_t loadflags;
  uint16_t xloadflags;
  uint32_t kernel_alignment;  // a power of two
  uint64_t pref_address;      // preferred load address (0: none)
  uint32_t init_size;         // bytes needed from the load address to run
  uint32_t initrd_addr_max;   // highest byte address the initrd may occupy
  uint32_t cmdline_size;      // longest command line, without the NUL
  std::span<const uint8_t> setup_header;  // file bytes [0x1f1, end of header)
  std::span<const uint8_t> kernel;        // protected-mode code: loaded as is
};

// Validates the header. Errors are one line without a prefix ("bzImage: ...
// boot protocol 2.10 is too old ..."); callers add which file it was.
Result<BzImage> parse_bzimage(std::span<const uint8_t> image);

}  // namespace vmm::hv::boot
