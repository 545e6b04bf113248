// The Linux x86 "zero page" (struct boot_params, 4 KiB) and the setup header
// inside it, as the kernel's uapi header arch/x86/include/uapi/asm/bootparam.h
// lays them out and Documentation/arch/x86/boot.rst and zero-page.rst
// describe them.
//
// Not a C++ struct: the setup header starts at the odd offset 0x1f1, so its
// 16- and 32-bit fields are misaligned and a struct would need `packed`.
// Instead each field is a typed Field<T, offset> constant, and ZeroPage is the
// 4 KiB as bytes with get/set through those constants. The static_asserts
// below check that the fields follow each other exactly as in the uapi
// struct, so a typo in an offset cannot slip through. Offsets of setup
// header fields are the same in the zero page and in a bzImage file (the
// header sits at 0x1f1 in both).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "hypervisor/boot/e820.h"

namespace vmm::hv::boot {

template <class T, size_t Offset>
struct Field {
  using type = T;
  static constexpr size_t offset = Offset;
  static constexpr size_t end = Offset + sizeof(T);
};

namespace zp {

constexpr size_t kSize = 4096;

// struct boot_params fields we touch.
constexpr Field<uint64_t, 0x070> kAcpiRsdpAddr{};
constexpr Field<uint32_t, 0x0c0> kExtRamdiskImage{};
constexpr Field<uint32_t, 0x0c4> kExtRamdiskSize{};
constexpr Field<uint32_t, 0x0c8> kExtCmdLinePtr{};
constexpr Field<uint8_t, 0x1e8> kE820Entries{};
constexpr Field<uint8_t, 0x1ef> kSentinel{};  // nonzero: the loader did not clear the page

// struct setup_header (boot.rst, "The Real-Mode Kernel Header"), protocol 2.15.
constexpr size_t kSetupHeaderStart = 0x1f1;
constexpr Field<uint8_t, 0x1f1> kSetupSects{};
constexpr Field<uint16_t, 0x1f2> kRootFlags{};
constexpr Field<uint32_t, 0x1f4> kSyssize{};
constexpr Field<uint16_t, 0x1f8> kRamSize{};
constexpr Field<uint16_t, 0x1fa> kVidMode{};
constexpr Field<uint16_t, 0x1fc> kRootDev{};
constexpr Field<uint16_t, 0x1fe> kBootFlag{};
constexpr Field<uint16_t, 0x200> kJump{};  // its second byte + 0x202 = end of the header
constexpr Field<uint32_t, 0x202> kHeader{};
constexpr Field<uint16_t, 0x206> kVersion{};
constexpr Field<uint32_t, 0x208> kRealmodeSwtch{};
constexpr Field<uint16_t, 0x20c> kStartSysSeg{};
constexpr Field<uint16_t, 0x20e> kKernelVersion{};
constexpr Field<uint8_t, 0x210> kTypeOfLoader{};
constexpr Field<uint8_t, 0x211> kLoadflags{};
constexpr Field<uint16_t, 0x212> kSetupMoveSize{};
constexpr Field<uint32_t, 0x214> kCode32Start{};
constexpr Field<uint32_t, 0x218> kRamdiskImage{};
constexpr Field<uint32_t, 0x21c> kRamdiskSize{};
constexpr Field<uint32_t, 0x220> kBootsectKludge{};
constexpr Field<uint16_t, 0x224> kHeapEndPtr{};
constexpr Field<uint8_t, 0x226> kExtLoaderVer{};
constexpr Field<uint8_t, 0x227> kExtLoaderType{};
constexpr Field<uint32_t, 0x228> kCmdLinePtr{};
constexpr Field<uint32_t, 0x22c> kInitrdAddrMax{};
constexpr Field<uint32_t, 0x230> kKernelAlignment{};
constexpr Field<uint8_t, 0x234> kRelocatableKernel{};
constexpr Field<uint8_t, 0x235> kMinAlignment{};
constexpr Field<uint16_t, 0x236> kXloadflags{};
constexpr Field<uint32_t, 0x238> kCmdlineSize{};
constexpr Field<uint32_t, 0x23c> kHardwareSubarch{};
constexpr Field<uint64_t, 0x240> kHardwareSubarchData{};
constexpr Field<uint32_t, 0x248> kPayloadOffset{};
constexpr Field<uint32_t, 0x24c> kPayloadLength{};
constexpr Field<uint64_t, 0x250> kSetupData{};
constexpr Field<uint64_t, 0x258> kPrefAddress{};
constexpr Field<uint32_t, 0x260> kInitSize{};
constexpr Field<uint32_t, 0x264> kHandoverOffset{};
constexpr Field<uint32_t, 0x268> kKernelInfoOffset{};
constexpr size_t kSetupHeaderEnd = kKernelInfoOffset.end;  // sizeof(struct setup_header) == 0x7b
// A newer kernel's header may be longer; it can grow up to edd_mbr_sig_buffer.
constexpr size_t kSetupHeaderMaxEnd = 0x290;

// The e820 table: boot_e820_entry { u64 addr; u64 size; u32 type; } packed.
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820EntrySize = 20;
constexpr size_t kE820MaxEntries = 128;  // E820_MAX_ENTRIES_ZEROPAGE
constexpr size_t kEddBuf = 0xd00;

// Each setup header field starts where the previous one ends (the uapi struct
// is packed), and the tables sit where bootparam.h says.
template <class A, class B>
constexpr bool follows(A, B) {
  return A::end == B::offset;
}
static_assert(kSetupSects.offset == kSetupHeaderStart);
static_assert(follows(kSetupSects, kRootFlags) && follows(kRootFlags, kSyssize) && follows(kSyssize, kRamSize) &&
              follows(kRamSize, kVidMode) && follows(kVidMode, kRootDev) && follows(kRootDev, kBootFlag) &&
              follows(kBootFlag, kJump) && follows(kJump, kHeader) && follows(kHeader, kVersion) &&
              follows(kVersion, kRealmodeSwtch) && follows(kRealmodeSwtch, kStartSysSeg) &&
              follows(kStartSysSeg, kKernelVersion) && follows(kKernelVersion, kTypeOfLoader) &&
              follows(kTypeOfLoader, kLoadflags) && follows(kLoadflags, kSetupMoveSize) &&
              follows(kSetupMoveSize, kCode32Start) && follows(kCode32Start, kRamdiskImage) &&
              follows(kRamdiskImage, kRamdiskSize) && follows(kRamdiskSize, kBootsectKludge) &&
              follows(kBootsectKludge, kHeapEndPtr) && follows(kHeapEndPtr, kExtLoaderVer) &&
              follows(kExtLoaderVer, kExtLoaderType) && follows(kExtLoaderType, kCmdLinePtr) &&
              follows(kCmdLinePtr, kInitrdAddrMax) && follows(kInitrdAddrMax, kKernelAlignment) &&
              follows(kKernelAlignment, kRelocatableKernel) && follows(kRelocatableKernel, kMinAlignment) &&
              follows(kMinAlignment, kXloadflags) && follows(kXloadflags, kCmdlineSize) &&
              follows(kCmdlineSize, kHardwareSubarch) && follows(kHardwareSubarch, kHardwareSubarchData) &&
              follows(kHardwareSubarchData, kPayloadOffset) && follows(kPayloadOffset, kPayloadLength) &&
              follows(kPayloadLength, kSetupData) && follows(kSetupData, kPrefAddress) &&
              follows(kPrefAddress, kInitSize) && follows(kInitSize, kHandoverOffset) &&
              follows(kHandoverOffset, kKernelInfoOffset));
static_assert(kSetupHeaderEnd - kSetupHeaderStart == 0x7b);
// edd_mbr_sig_buffer[16] at 0x290, then the e820 table, 48 bytes of padding, eddbuf.
static_assert(kSetupHeaderMaxEnd + 16 * 4 == kE820Table);
static_assert(kE820Table + kE820MaxEntries * kE820EntrySize + 48 == kEddBuf);
// eddbuf[6] of 82-byte edd_info, then _pad9[276]: the page is exactly 4 KiB.
static_assert(kEddBuf + 6 * 82 + 276 == kSize);

}  // namespace zp

// setup_header.loadflags (boot.rst, "Details of Header Fields").
constexpr uint8_t kLoadedHigh = 1 << 0;   // protected-mode code loaded at 0x100000
constexpr uint8_t kKaslrFlag = 1 << 1;    // kernel-internal
constexpr uint8_t kQuietFlag = 1 << 5;    // suppress early messages
constexpr uint8_t kKeepSegments = 1 << 6; // obsolete
constexpr uint8_t kCanUseHeap = 1 << 7;   // heap_end_ptr is valid
// setup_header.xloadflags (protocol 2.12+).
constexpr uint16_t kXlfKernel64 = 1 << 0;              // 64-bit entry at load address + 0x200
constexpr uint16_t kXlfCanBeLoadedAbove4G = 1 << 1;
constexpr uint16_t kXlfEfiHandover32 = 1 << 2;
constexpr uint16_t kXlfEfiHandover64 = 1 << 3;
constexpr uint16_t kXlfEfiKexec = 1 << 4;

constexpr uint16_t kBootFlagMagic = 0xaa55;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS" little-endian
constexpr uint8_t kTypeOfLoaderUndefined = 0xff;

class ZeroPage {
 public:
  template <class T, size_t O>
  T get(Field<T, O>) const {
    static_assert(O + sizeof(T) <= zp::kSize);
    T v;
    std::memcpy(&v, bytes_.data() + O, sizeof v);
    return v;
  }
  template <class T, size_t O>
  void set(Field<T, O>, T v) {
    static_assert(O + sizeof(T) <= zp::kSize);
    std::memcpy(bytes_.data() + O, &v, sizeof v);
  }

  // Copies `header` (image bytes from 0x1f1 on) into the setup header area.
  // The caller has checked that it ends by kSetupHeaderMaxEnd.
  void set_setup_header(std::span<const uint8_t> header);

  // Fills e820_entries and e820_table; false (and nothing written) if there
  // are more than kE820MaxEntries.
  bool set_e820(std::span<const E820Entry> map);
  std::vector<E820Entry> e820() const;

  std::span<const uint8_t> bytes() const { return bytes_; }
  std::span<uint8_t> bytes() { return bytes_; }

 private:
  std::array<uint8_t, zp::kSize> bytes_{};
};

inline void ZeroPage::set_setup_header(std::span<const uint8_t> header) {
  std::memcpy(bytes_.data() + zp::kSetupHeaderStart, header.data(), header.size());
}

inline bool ZeroPage::set_e820(std::span<const E820Entry> map) {
  if (map.size() > zp::kE820MaxEntries) return false;
  for (size_t i = 0; i < map.size(); ++i) {
    uint8_t* p = bytes_.data() + zp::kE820Table + i * zp::kE820EntrySize;
    const uint32_t type = static_cast<uint32_t>(map[i].type);
    std::memcpy(p, &map[i].addr, 8);
    std::memcpy(p + 8, &map[i].size, 8);
    std::memcpy(p + 16, &type, 4);
  }
  set(zp::kE820Entries, static_cast<uint8_t>(map.size()));
  return true;
}

inline std::vector<E820Entry> ZeroPage::e820() const {
  std::vector<E820Entry> map;
  const size_t n = std::min<size_t>(get(zp::kE820Entries), zp::kE820MaxEntries);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = bytes_.data() + zp::kE820Table + i * zp::kE820EntrySize;
    E820Entry e{};
    uint32_t type;
    std::memcpy(&e.addr, p, 8);
    std::memcpy(&e.size, p + 8, 8);
    std::memcpy(&type, p + 16, 4);
    e.type = static_cast<E820Type>(type);
    map.push_back(e);
  }
  return map;
}

}  // namespace vmm::hv::boot
