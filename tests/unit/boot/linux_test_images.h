// Crafted Linux kernel images for the Linux boot protocol tests: a tiny
// bzImage (boot sector + setup sectors carrying the setup header, then a
// "protected-mode kernel" of recognisable bytes) whose every header field a
// test can set, and helpers to read back what a loader left in guest memory.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "hypervisor/boot/boot_params.h"
#include "hypervisor/boot/x86_layout.h"
#include "hypervisor/memory/guest_memory.h"
#include "tests/unit/boot/elf_builder.h"

namespace vmm::hv::boot::test {

struct BzImageBuilder {
  uint8_t setup_sects = 4;
  uint16_t boot_flag = kBootFlagMagic;
  uint32_t magic = kHdrSMagic;
  uint16_t version = 0x020f;
  uint8_t header_len = 0x6a;  // jump displacement: the header ends at 0x202 + 0x6a = 0x26c
  uint8_t loadflags = kLoadedHigh | kQuietFlag;
  uint8_t relocatable = 1;
  uint16_t xloadflags = kXlfKernel64 | kXlfCanBeLoadedAbove4G;
  uint32_t kernel_alignment = 0x200000;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x800000;
  uint32_t initrd_addr_max = 0x7fffffff;
  uint32_t cmdline_size = 2047;
  std::vector<uint8_t> kernel = pattern(0x3000, 5);

  std::vector<uint8_t> build() const {
    const size_t setup = (size_t{setup_sects == 0 ? uint8_t{4} : setup_sects} + 1) * 512;
    std::vector<uint8_t> f(setup, 0);
    // Bytes the loader must copy verbatim, so the test can tell.
    for (size_t i = zp::kSetupHeaderStart; i < size_t{0x202} + header_len && i < setup; ++i) f[i] = static_cast<uint8_t>(i);
    auto put = [&](auto field, auto value) {
      using T = typename decltype(field)::type;
      T v = static_cast<T>(value);
      std::memcpy(f.data() + field.offset, &v, sizeof v);
    };
    put(zp::kSetupSects, setup_sects);
    put(zp::kBootFlag, boot_flag);
    put(zp::kJump, uint16_t(0xeb | (header_len << 8)));  // jmp short over the header
    put(zp::kHeader, magic);
    put(zp::kVersion, version);
    put(zp::kTypeOfLoader, 0);
    put(zp::kLoadflags, loadflags);
    put(zp::kRamdiskImage, 0);
    put(zp::kRamdiskSize, 0);
    put(zp::kCmdLinePtr, 0);
    put(zp::kInitrdAddrMax, initrd_addr_max);
    put(zp::kKernelAlignment, kernel_alignment);
    put(zp::kRelocatableKernel, relocatable);
    put(zp::kXloadflags, xloadflags);
    put(zp::kCmdlineSize, cmdline_size);
    put(zp::kSetupData, 0);
    put(zp::kPrefAddress, pref_address);
    put(zp::kInitSize, init_size);
    put(zp::kSyssize, (kernel.size() + 15) / 16);
    f.insert(f.end(), kernel.begin(), kernel.end());
    return f;
  }
};

inline GuestMemory make_memory(uint64_t bytes) {
  auto mem = GuestMemory::create(ram_layout(bytes));
  EXPECT_TRUE(mem.ok()) << mem.error().message();
  return std::move(mem).value();
}

inline std::vector<uint8_t> read_bytes(const GuestMemory& mem, uint64_t gpa, size_t size) {
  std::vector<uint8_t> out(size);
  EXPECT_TRUE(mem.read(gpa, out).ok());
  return out;
}

inline ZeroPage read_zero_page(const GuestMemory& mem) {
  ZeroPage zp;
  EXPECT_TRUE(mem.read(kZeroPageAddr, zp.bytes()).ok());
  return zp;
}

// True if the VMM wrote no page of `mem` since it was created.
inline bool nothing_written(GuestMemory& mem) {
  for (uint64_t w : mem.vmm_dirty().take()) {
    if (w != 0) return false;
  }
  return true;
}

}  // namespace vmm::hv::boot::test
