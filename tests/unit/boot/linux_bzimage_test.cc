// The bzImage loader on crafted images: what a good image leaves in guest
// memory (kernel, zero page, command line, e820, initrd), where the initrd
// goes at several memory sizes, and that each kind of bad input gives its
// own one-line error and writes nothing.
#include <gtest/gtest.h>

#include <string>

#include "hypervisor/boot/bzimage.h"
#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/kernel_format.h"
#include "hypervisor/boot/linux_boot.h"
#include "hypervisor/boot/linux_entry_state.h"
#include "hypervisor/boot/mptable.h"
#include "tests/unit/boot/linux_test_images.h"

namespace vmm::hv::boot {
namespace {

using test::BzImageBuilder;
using test::make_memory;
using test::nothing_written;
using test::pattern;
using test::read_bytes;
using test::read_zero_page;

TEST(LinuxBzImage, DetectedAndBootable) {
  auto image = BzImageBuilder{}.build();
  EXPECT_EQ(detect_kernel_format(image), KernelFormat::kBzImage);
  EXPECT_TRUE(check_kernel_bootable(KernelFormat::kBzImage).ok());
}

TEST(LinuxBzImage, ParsesTheHeader) {
  BzImageBuilder b;
  auto image = b.build();
  auto bz = parse_bzimage(image);
  ASSERT_TRUE(bz.ok()) << bz.error().message();
  EXPECT_EQ(bz->version, 0x020f);
  EXPECT_EQ(bz->xloadflags, kXlfKernel64 | kXlfCanBeLoadedAbove4G);
  EXPECT_EQ(bz->kernel_alignment, 0x200000u);
  EXPECT_EQ(bz->pref_address, 0x1000000u);
  EXPECT_EQ(bz->init_size, 0x800000u);
  EXPECT_EQ(bz->initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(bz->cmdline_size, 2047u);
  EXPECT_EQ(bz->setup_header.size(), 0x26cu - 0x1f1u);
  EXPECT_EQ(std::vector<uint8_t>(bz->kernel.begin(), bz->kernel.end()), b.kernel);
}

TEST(LinuxBzImage, SetupSectsZeroMeansFour) {
  BzImageBuilder b;
  b.setup_sects = 0;
  auto image = b.build();
  auto bz = parse_bzimage(image);
  ASSERT_TRUE(bz.ok()) << bz.error().message();
  EXPECT_EQ(bz->kernel.data(), image.data() + 5 * 512);
}

TEST(LinuxBzImage, LoadsGoodImage) {
  GuestMemory mem = make_memory(128 * kMiB);
  BzImageBuilder b;
  auto image = b.build();
  const std::string cmdline = "console=ttyS0 earlyprintk=ttyS0 vmm.workload=ready";
  auto initrd = pattern(5 * kPageSize + 123, 3);
  LinuxConfig config{cmdline, std::span<const uint8_t>(initrd), 2};
  auto info = load_bzimage(mem, image, config);
  ASSERT_TRUE(info.ok()) << info.error().message();

  // Kernel at pref_address, entered 0x200 in (startup_64).
  EXPECT_EQ(info->kernel_gpa, 0x1000000u);
  EXPECT_EQ(info->entry_gpa, 0x1000200u);
  EXPECT_EQ(info->zero_page_gpa, kZeroPageAddr);
  EXPECT_EQ(info->kernel_end, 0x1000000u + 0x800000u);
  EXPECT_EQ(read_bytes(mem, 0x1000000, b.kernel.size()), b.kernel);

  // The setup header is the image's, but for the fields a loader writes.
  ZeroPage zp = read_zero_page(mem);
  auto bytes = zp.bytes();
  for (size_t i = zp::kSetupHeaderStart; i < zp::kSetupHeaderEnd; ++i) {
    const bool written = (i >= zp::kTypeOfLoader.offset && i < zp::kLoadflags.end) ||
                         (i >= zp::kRamdiskImage.offset && i < zp::kRamdiskSize.end) ||
                         (i >= zp::kCmdLinePtr.offset && i < zp::kCmdLinePtr.end);
    if (!written) {
      EXPECT_EQ(bytes[i], image[i]) << std::hex << "setup header byte 0x" << i;
    }
  }
  for (size_t i = 0; i < zp::kSetupHeaderStart; ++i) {
    if (i == zp::kE820Entries.offset) continue;
    EXPECT_EQ(bytes[i], 0) << std::hex << "zero page byte 0x" << i;
  }
  EXPECT_EQ(zp.get(zp::kBootFlag), 0xaa55);
  EXPECT_EQ(zp.get(zp::kHeader), kHdrSMagic);
  EXPECT_EQ(zp.get(zp::kTypeOfLoader), 0xff);
  EXPECT_EQ(zp.get(zp::kLoadflags), kLoadedHigh) << "QUIET_FLAG cleared, LOADED_HIGH kept";
  EXPECT_EQ(zp.get(zp::kSentinel), 0);
  EXPECT_EQ(zp.get(zp::kAcpiRsdpAddr), 0u);

  // Command line.
  EXPECT_EQ(zp.get(zp::kCmdLinePtr), kCmdlineAddr);
  EXPECT_EQ(zp.get(zp::kExtCmdLinePtr), 0u);
  auto cmd = read_bytes(mem, kCmdlineAddr, cmdline.size() + 1);
  EXPECT_EQ(std::string(cmd.begin(), cmd.end() - 1), cmdline);
  EXPECT_EQ(cmd.back(), 0);

  // e820: exactly e820_map of the layout.
  EXPECT_EQ(zp.e820(), e820_map(ram_layout(128 * kMiB)));

  // Initrd: page-aligned, at the top of RAM.
  ASSERT_TRUE(info->initrd.has_value());
  EXPECT_EQ(info->initrd->gpa, 128 * kMiB - 6 * kPageSize);
  EXPECT_EQ(info->initrd->size, initrd.size());
  EXPECT_EQ(zp.get(zp::kRamdiskImage), info->initrd->gpa);
  EXPECT_EQ(zp.get(zp::kRamdiskSize), initrd.size());
  EXPECT_EQ(zp.get(zp::kExtRamdiskImage), 0u);
  EXPECT_EQ(zp.get(zp::kExtRamdiskSize), 0u);
  EXPECT_EQ(read_bytes(mem, info->initrd->gpa, initrd.size()), initrd);

  // The MP table, the page tables and the GDT are there too.
  EXPECT_EQ(read_bytes(mem, kMpTableAddr, 4), (std::vector<uint8_t>{'_', 'M', 'P', '_'}));
  EXPECT_EQ(read_bytes(mem, kLinuxPml4Addr, kLinuxPageTablesEnd - kLinuxPml4Addr), linux_page_tables());
  auto gdt = mem.read_obj<std::array<uint64_t, kLinuxGdtEntries>>(kLinuxGdtAddr);
  ASSERT_TRUE(gdt.ok());
  EXPECT_EQ(*gdt, linux_boot_gdt());
}

TEST(LinuxBzImage, WithoutInitrdTheRamdiskFieldsAreZero) {
  GuestMemory mem = make_memory(64 * kMiB);
  auto image = BzImageBuilder{}.build();
  auto info = load_bzimage(mem, image, LinuxConfig{"", std::nullopt, 1});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_FALSE(info->initrd.has_value());
  ZeroPage zp = read_zero_page(mem);
  EXPECT_EQ(zp.get(zp::kRamdiskImage), 0u);
  EXPECT_EQ(zp.get(zp::kRamdiskSize), 0u);
  EXPECT_EQ(read_bytes(mem, kCmdlineAddr, 1), std::vector<uint8_t>{0});
}

TEST(LinuxBzImage, LoadAddressFollowsPrefAddressAndAlignment) {
  struct Case {
    uint64_t pref;
    uint32_t align;
    uint64_t expect;
  };
  for (const Case& c : {Case{0x1000000, 0x200000, 0x1000000}, Case{0x1100000, 0x200000, 0x1200000},
                        Case{0, 0x200000, 0x200000}, Case{0, 0x1000, 0x100000}, Case{0x3000000, 0x1000000, 0x3000000}}) {
    GuestMemory mem = make_memory(128 * kMiB);
    BzImageBuilder b;
    b.pref_address = c.pref;
    b.kernel_alignment = c.align;
    auto image = b.build();
    auto info = load_bzimage(mem, image, {});
    ASSERT_TRUE(info.ok()) << info.error().message();
    EXPECT_EQ(info->kernel_gpa, c.expect) << std::hex << c.pref << " " << c.align;
    EXPECT_EQ(info->entry_gpa, c.expect + 0x200);
  }
}

// Where the initrd goes: as high as possible below min(end of low RAM,
// initrd_addr_max + 1), page-aligned.
TEST(LinuxBzImage, InitrdPlacementAtSeveralMemorySizes) {
  struct Case {
    uint64_t mem;
    uint32_t initrd_addr_max;
    uint64_t expect_end;  // initrd end rounded up to a page
  };
  const uint64_t size = 3 * kMiB + 100;
  for (const Case& c : {
           Case{64 * kMiB, 0x7fffffff, 64 * kMiB},
           Case{128 * kMiB, 0x7fffffff, 128 * kMiB},
           Case{1 * kGiB, 0x7fffffff, 1 * kGiB},
           Case{1 * kGiB, 0x37ffffff, 0x38000000},  // the pre-2.03 default limit
           Case{3 * kGiB, 0x7fffffff, 2 * kGiB},
           Case{3 * kGiB, 0xffffffff, 3 * kGiB},
           Case{5 * kGiB, 0xffffffff, 3 * kGiB},  // never above the PCI hole, never in high RAM
           Case{5 * kGiB, 0x7fffffff, 2 * kGiB},
       }) {
    GuestMemory mem = make_memory(c.mem);
    BzImageBuilder b;
    b.initrd_addr_max = c.initrd_addr_max;
    auto image = b.build();
    auto initrd = pattern(size, 1);
    auto info = load_bzimage(mem, image, LinuxConfig{"", std::span<const uint8_t>(initrd), 1});
    ASSERT_TRUE(info.ok()) << info.error().message();
    ASSERT_TRUE(info->initrd.has_value());
    EXPECT_EQ(info->initrd->gpa % kPageSize, 0u);
    EXPECT_EQ(info->initrd->gpa, c.expect_end - 3 * kMiB - kPageSize)
        << std::hex << "mem 0x" << c.mem << " max 0x" << c.initrd_addr_max;
    EXPECT_LE(info->initrd->gpa + size - 1, c.initrd_addr_max);
    EXPECT_GE(info->initrd->gpa, info->kernel_end);
    EXPECT_EQ(read_zero_page(mem).get(zp::kRamdiskImage), info->initrd->gpa);
  }
}

// The e820 table in the zero page is e820_map() of the layout, written out.
TEST(LinuxBzImage, E820ForSmallMediumAndLargeGuests) {
  using T = E820Type;
  struct Case {
    uint64_t mem;
    std::vector<E820Entry> expect;
  };
  const std::vector<Case> cases = {
      {128 * kMiB, {{0, 0x9fc00, T::kRam}, {0x9fc00, 0x60400, T::kReserved}, {0x100000, 127 * kMiB, T::kRam}}},
      {3 * kGiB,
       {{0, 0x9fc00, T::kRam}, {0x9fc00, 0x60400, T::kReserved}, {0x100000, 3 * kGiB - kMiB, T::kRam}}},
      {5 * kGiB,
       {{0, 0x9fc00, T::kRam},
        {0x9fc00, 0x60400, T::kReserved},
        {0x100000, 3 * kGiB - kMiB, T::kRam},
        {4 * kGiB, 2 * kGiB, T::kRam}}},
  };
  for (const auto& c : cases) {
    GuestMemory mem = make_memory(c.mem);
    auto image = BzImageBuilder{}.build();
    ASSERT_TRUE(load_bzimage(mem, image, {}).ok());
    ZeroPage zp = read_zero_page(mem);
    EXPECT_EQ(zp.get(zp::kE820Entries), c.expect.size());
    EXPECT_EQ(zp.e820(), c.expect) << c.mem;
    EXPECT_EQ(zp.e820(), e820_map(ram_layout(c.mem)));
    // The raw bytes too: 20-byte packed entries at 0x2d0.
    uint64_t addr;
    uint32_t type;
    std::memcpy(&addr, zp.bytes().data() + 0x2d0 + 20 * 2, 8);
    std::memcpy(&type, zp.bytes().data() + 0x2d0 + 20 * 2 + 16, 4);
    EXPECT_EQ(addr, 0x100000u);
    EXPECT_EQ(type, 1u);
  }
}

TEST(LinuxBzImage, CommandLineUpToCmdlineSize) {
  BzImageBuilder b;
  b.cmdline_size = 16;
  auto image = b.build();
  {
    GuestMemory mem = make_memory(64 * kMiB);
    auto info = load_bzimage(mem, image, LinuxConfig{std::string(16, 'a'), std::nullopt, 1});
    ASSERT_TRUE(info.ok()) << info.error().message();
    std::vector<uint8_t> expect(16, 'a');
    expect.push_back(0);
    EXPECT_EQ(read_bytes(mem, kCmdlineAddr, 17), expect);
  }
  GuestMemory mem = make_memory(64 * kMiB);
  const std::string long_cmdline(17, 'a');
  auto info = load_bzimage(mem, image, LinuxConfig{long_cmdline, std::nullopt, 1});
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(info.error().message(), "kernel command line: 17 bytes is longer than the kernel's limit of 16");
  EXPECT_TRUE(nothing_written(mem));
}

struct Failure {
  Errc code;
  std::string message;
};

// Loads into a fresh guest, expects failure, and checks that not one page
// of guest memory was written.
Failure load_fails(const std::vector<uint8_t>& image, uint64_t mem_bytes = 128 * kMiB,
                   std::optional<std::vector<uint8_t>> initrd = std::nullopt) {
  GuestMemory mem = make_memory(mem_bytes);
  LinuxConfig config{"console=ttyS0", std::nullopt, 1};
  if (initrd) config.initrd = std::span<const uint8_t>(*initrd);
  auto info = load_bzimage(mem, image, config);
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(nothing_written(mem)) << "a failed load wrote guest memory";
  if (info.ok()) return {Errc::kSys, ""};
  EXPECT_EQ(info.error().message().find('\n'), std::string::npos) << "one line";
  return {info.error().code(), info.error().message()};
}

#define EXPECT_FAILS_WITH(failure, code_, text)                        \
  do {                                                                 \
    auto f_ = (failure);                                               \
    EXPECT_EQ(f_.code, code_) << f_.message;                           \
    EXPECT_NE(f_.message.find(text), std::string::npos) << f_.message; \
  } while (0)

TEST(LinuxBzImageBad, BadBootFlag) {
  BzImageBuilder b;
  b.boot_flag = 0x1234;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: bzImage: no boot flag 0xAA55 at 0x1fe (found 0x1234)");
}

TEST(LinuxBzImageBad, BadHdrSMagic) {
  BzImageBuilder b;
  b.magic = 0x53726449;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "kernel image: bzImage: no \"HdrS\" magic at 0x202");
}

TEST(LinuxBzImageBad, ProtocolTooOld) {
  BzImageBuilder b;
  b.version = 0x020b;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: bzImage: boot protocol 2.11 is too old (need 2.12 or newer");
  b.version = 0x0204;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "boot protocol 2.04 is too old");
}

TEST(LinuxBzImageBad, NotRelocatable) {
  BzImageBuilder b;
  b.relocatable = 0;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "kernel image: bzImage: kernel is not relocatable");
}

TEST(LinuxBzImageBad, No64BitEntry) {
  BzImageBuilder b;
  b.xloadflags = kXlfCanBeLoadedAbove4G | kXlfEfiHandover32;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: bzImage: no 64-bit entry point (XLF_KERNEL_64 is clear");
}

TEST(LinuxBzImageBad, KernelAlignmentNotAPowerOfTwo) {
  BzImageBuilder b;
  b.kernel_alignment = 0x300000;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "kernel_alignment 0x300000 is not a power of two");
  b.kernel_alignment = 0;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "kernel_alignment 0x0 is not a power of two");
}

TEST(LinuxBzImageBad, Truncated) {
  auto image = BzImageBuilder{}.build();
  image.resize(5 * 512);  // the setup sectors, no kernel
  EXPECT_FAILS_WITH(load_fails(image), Errc::kBadImage, "reach past the end of the 2560-byte file");
  image.resize(0x230);
  EXPECT_FAILS_WITH(load_fails(image), Errc::kBadImage, "too short for a setup header");
}

TEST(LinuxBzImageBad, HeaderLengthOutOfRange) {
  BzImageBuilder b;
  b.header_len = 0x20;  // ends at 0x222: before cmdline_size
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "setup header ends at 0x222");
  b.header_len = 0xa0;  // ends at 0x2a2: into edd_mbr_sig_buffer
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "setup header ends at 0x2a2");
}

TEST(LinuxBzImageBad, TooLargeForMemory) {
  BzImageBuilder b;
  b.init_size = 120 * kMiB;  // 16 MiB + 120 MiB > 128 MiB
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: bzImage loaded at 0x1000000 with init_size 0x7800000 needs RAM up to 0x8800000 "
                    "(136 MiB) but the guest's low RAM ends at 0x8000000 (128 MiB)");
  // The protected-mode part alone may be larger than init_size claims.
  BzImageBuilder big;
  big.init_size = 0x1000;
  big.kernel = pattern(8 * kMiB, 1);
  EXPECT_FAILS_WITH(load_fails(big.build(), 20 * kMiB), Errc::kBadImage, "needs RAM up to 0x1800000 (24 MiB)");
  // pref_address in the PCI hole.
  BzImageBuilder hole;
  hole.pref_address = 0xc0000000;
  EXPECT_FAILS_WITH(load_fails(hole.build(), 5 * kGiB), Errc::kBadImage, "bzImage loaded at 0xc0000000");
}

TEST(LinuxBzImageBad, InitrdDoesNotFit) {
  // 32 MiB guest: the kernel window is [16 MiB, 24 MiB); 9 MiB of initrd cannot go above it.
  EXPECT_FAILS_WITH(load_fails(BzImageBuilder{}.build(), 32 * kMiB, pattern(9 * kMiB, 1)), Errc::kInvalidArgument,
                    "initrd: 9 MiB does not fit between the kernel's end 0x1800000 and 0x2000000");
  EXPECT_FAILS_WITH(load_fails(BzImageBuilder{}.build(), 32 * kMiB, std::vector<uint8_t>{}), Errc::kInvalidArgument,
                    "initrd: file is empty");
  // initrd_addr_max below the kernel.
  BzImageBuilder b;
  b.initrd_addr_max = 0xffffff;
  EXPECT_FAILS_WITH(load_fails(b.build(), 128 * kMiB, pattern(kMiB, 1)), Errc::kInvalidArgument,
                    "initrd: 1 MiB does not fit");
}

TEST(LinuxBzImageBad, TooManyCpusForTheMpTable) {
  GuestMemory mem = make_memory(64 * kMiB);
  auto image = BzImageBuilder{}.build();
  auto info = load_bzimage(mem, image, LinuxConfig{"", std::nullopt, 100000});
  EXPECT_FALSE(info.ok());
  EXPECT_TRUE(nothing_written(mem));
}

}  // namespace
}  // namespace vmm::hv::boot
