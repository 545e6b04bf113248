// The 64-bit vmlinux loader on crafted ELFs, and which protocol vmm picks
// for which image: PVH for any ELF with a PVH note (a CONFIG_PVH vmlinux
// included), the Linux 64-bit protocol for an ELF without one and for a
// bzImage. The dispatch is checked end to end through load_kernel() on
// files.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <string>

#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/kernel_format.h"
#include "hypervisor/boot/linux_boot.h"
#include "hypervisor/boot/linux_entry_state.h"
#include "hypervisor/boot/pvh.h"
#include "hypervisor/machine/kernel_boot.h"
#include "tests/unit/boot/linux_test_images.h"

namespace vmm::hv::boot {
namespace {

using test::BzImageBuilder;
using test::ElfBuilder;
using test::make_memory;
using test::nothing_written;
using test::pattern;
using test::poke;
using test::pvh_note;
using test::read_bytes;
using test::read_zero_page;

constexpr uint64_t kEntry = 0x1000040;

// Like a vmlinux: text at 16 MiB, data + .bss after it, an entry inside the
// text, Xen notes but no PVH entry note.
ElfBuilder vmlinux() {
  ElfBuilder b;
  b.segments.push_back({0x1000000, pattern(0x2345, 1), 0x2345});
  b.segments.push_back({0x1200000, pattern(0x800, 2), 0x5000});
  b.note_segments.push_back({{"Xen", 6, {'l', 'i', 'n', 'u', 'x', 0}}, {"GNU", 3, {1, 2, 3, 4}}});
  return b;
}

std::vector<uint8_t> with_entry(ElfBuilder& b, uint64_t entry) {
  auto elf = b.build();
  poke<uint64_t>(elf, offsetof(Elf64_Ehdr, e_entry), entry);
  return elf;
}

TEST(LinuxElf, FormatWithAndWithoutPvhNote) {
  ElfBuilder plain = vmlinux();
  EXPECT_EQ(detect_kernel_format(plain.build()), KernelFormat::kElfNoPvh);
  EXPECT_TRUE(check_kernel_bootable(KernelFormat::kElfNoPvh).ok());
  ElfBuilder pvh = vmlinux();
  pvh.note_segments[0].push_back(pvh_note(kEntry));
  EXPECT_EQ(detect_kernel_format(pvh.build()), KernelFormat::kElfPvh);
  EXPECT_FALSE(check_kernel_bootable(KernelFormat::kUnknown).ok());
}

TEST(LinuxElf, LoadsVmlinuxWithoutPvhNote) {
  GuestMemory mem = make_memory(256 * kMiB);
  std::vector<uint8_t> junk(0x5000, 0xcc);
  ASSERT_TRUE(mem.write(0x1200000, junk).ok());  // .bss must be zeroed, not assumed zero

  ElfBuilder b = vmlinux();
  auto elf = with_entry(b, kEntry);
  const std::string cmdline = "console=ttyS0 earlyprintk=ttyS0";
  auto initrd = pattern(2 * kPageSize, 4);
  auto info = load_linux_elf(mem, elf, LinuxConfig{cmdline, std::span<const uint8_t>(initrd), 1});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->entry_gpa, kEntry);
  EXPECT_EQ(info->zero_page_gpa, kZeroPageAddr);
  EXPECT_EQ(info->kernel_gpa, 0x1000000u);
  EXPECT_EQ(info->kernel_end, 0x1205000u);
  EXPECT_EQ(read_bytes(mem, 0x1000000, 0x2345), b.segments[0].data);
  EXPECT_EQ(read_bytes(mem, 0x1200000, 0x800), b.segments[1].data);
  EXPECT_EQ(read_bytes(mem, 0x1200800, 0x4800), std::vector<uint8_t>(0x4800, 0));

  // A minimal setup header: what a vmlinux would have had in its bzImage.
  ZeroPage zp = read_zero_page(mem);
  EXPECT_EQ(zp.get(zp::kBootFlag), 0xaa55);
  EXPECT_EQ(zp.get(zp::kHeader), kHdrSMagic);
  EXPECT_EQ(zp.get(zp::kTypeOfLoader), 0xff);
  EXPECT_EQ(zp.get(zp::kLoadflags), kLoadedHigh);
  EXPECT_EQ(zp.get(zp::kKernelAlignment), kVmlinuxKernelAlignment);
  EXPECT_EQ(zp.get(zp::kCmdlineSize), 2047u);
  EXPECT_EQ(zp.get(zp::kInitrdAddrMax), 0x7fffffffu);
  EXPECT_EQ(zp.get(zp::kCmdLinePtr), kCmdlineAddr);
  auto cmd = read_bytes(mem, kCmdlineAddr, cmdline.size() + 1);
  EXPECT_EQ(std::string(cmd.begin(), cmd.end() - 1), cmdline);
  EXPECT_EQ(zp.e820(), e820_map(ram_layout(256 * kMiB)));
  ASSERT_TRUE(info->initrd);
  EXPECT_EQ(info->initrd->gpa, 256 * kMiB - 2 * kPageSize);
  EXPECT_EQ(zp.get(zp::kRamdiskImage), 256 * kMiB - 2 * kPageSize);
  EXPECT_EQ(zp.get(zp::kRamdiskSize), initrd.size());
  EXPECT_EQ(read_bytes(mem, info->initrd->gpa, initrd.size()), initrd);
  EXPECT_EQ(read_bytes(mem, kLinuxPml4Addr, kLinuxPageTablesEnd - kLinuxPml4Addr), linux_page_tables());
}

TEST(LinuxElf, InitrdStaysBelowTwoGiBInLargeGuests) {
  GuestMemory mem = make_memory(5 * kGiB);
  ElfBuilder b = vmlinux();
  auto elf = with_entry(b, kEntry);
  auto initrd = pattern(kMiB, 4);
  auto info = load_linux_elf(mem, elf, LinuxConfig{"", std::span<const uint8_t>(initrd), 1});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->initrd->gpa, 2 * kGiB - kMiB);
  EXPECT_EQ(read_zero_page(mem).e820(), e820_map(ram_layout(5 * kGiB)));
}

TEST(LinuxElf, CommandLineLimitIs2047) {
  ElfBuilder b = vmlinux();
  auto elf = with_entry(b, kEntry);
  {
    GuestMemory mem = make_memory(64 * kMiB);
    EXPECT_TRUE(load_linux_elf(mem, elf, LinuxConfig{std::string(2047, 'x'), std::nullopt, 1}).ok());
  }
  GuestMemory mem = make_memory(64 * kMiB);
  auto r = load_linux_elf(mem, elf, LinuxConfig{std::string(2048, 'x'), std::nullopt, 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "kernel command line: 2048 bytes is longer than the kernel's limit of 2047");
  EXPECT_TRUE(nothing_written(mem));
  auto nul = load_linux_elf(mem, elf, LinuxConfig{std::string("a\0b", 3), std::nullopt, 1});
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().message(), "kernel command line: contains a NUL byte");
}

std::string elf_fails(const std::vector<uint8_t>& elf, uint64_t mem_bytes = 64 * kMiB) {
  GuestMemory mem = make_memory(mem_bytes);
  auto r = load_linux_elf(mem, elf, LinuxConfig{"", std::nullopt, 1});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(nothing_written(mem)) << "a failed load wrote guest memory";
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code(), Errc::kBadImage);
  return r.error().message();
}

TEST(LinuxElfBad, VirtualEntryPoint) {
  ElfBuilder b = vmlinux();
  EXPECT_EQ(elf_fails(with_entry(b, 0xffffffff81000040)),
            "kernel image: entry point 0xffffffff81000040 is not inside a loaded segment (a vmlinux's e_entry is "
            "the physical address of startup_64)");
  // In .bss: not loaded from the file either.
  EXPECT_NE(elf_fails(with_entry(b, 0x1201000)).find("entry point 0x1201000"), std::string::npos);
}

TEST(LinuxElfBad, ThirtyTwoBitElf) {
  ElfBuilder b = vmlinux();
  b.is_64bit = false;
  b.machine = EM_386;
  EXPECT_NE(elf_fails(b.build()).find("32-bit ELF without a PVH entry note"), std::string::npos);
}

TEST(LinuxElfBad, SegmentBelowOneMiB) {
  ElfBuilder b = vmlinux();
  b.segments.push_back({0x8000, pattern(16, 1), 16});
  EXPECT_EQ(elf_fails(with_entry(b, kEntry)),
            "kernel image: segment at 0x8000 is below 1 MiB, where the boot structures live");
}

TEST(LinuxElfBad, TooLargeForMemory) {
  ElfBuilder b = vmlinux();
  EXPECT_EQ(elf_fails(with_entry(b, kEntry), 16 * kMiB),
            "kernel image: segment at 0x1000000 needs RAM up to 0x1002345 (17 MiB) but the guest's low RAM ends at "
            "0x1000000 (16 MiB); give the guest more memory");
}

TEST(LinuxElfBad, OverlappingSegments) {
  ElfBuilder b = vmlinux();
  b.segments.push_back({0x1001000, pattern(16, 1), 16});
  EXPECT_EQ(elf_fails(with_entry(b, kEntry)), "kernel image: segments at 0x1000000 and 0x1001000 overlap");
}

// --- load_kernel(): the protocol chosen for each kind of file ----------------

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = ::testing::TempDir() + "linux_elf_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

TEST(LoadKernel, ElfWithPvhNoteUsesPvh) {
  ElfBuilder b = vmlinux();
  b.note_segments[0].push_back(pvh_note(kEntry));
  const std::string path = write_temp("pvh.elf", b.build());
  GuestMemory mem = make_memory(64 * kMiB);
  auto entry = load_kernel(mem, KernelBootConfig{path, "", "console=ttyS0", 1});
  ASSERT_TRUE(entry.ok()) << entry.error().message();
  EXPECT_EQ(entry->protocol, BootEntry::Protocol::kPvh);
  EXPECT_EQ(entry->entry_gpa, kEntry);
  EXPECT_EQ(entry->boot_params_gpa, kPvhStartInfoAddr);
  std::remove(path.c_str());
}

TEST(LoadKernel, ElfWithoutPvhNoteUsesLinux64) {
  ElfBuilder b = vmlinux();
  const std::string path = write_temp("nopvh.elf", with_entry(b, kEntry));
  GuestMemory mem = make_memory(64 * kMiB);
  auto entry = load_kernel(mem, KernelBootConfig{path, "", "console=ttyS0", 1});
  ASSERT_TRUE(entry.ok()) << entry.error().message();
  EXPECT_EQ(entry->protocol, BootEntry::Protocol::kLinux64);
  EXPECT_EQ(entry->entry_gpa, kEntry);
  EXPECT_EQ(entry->boot_params_gpa, kZeroPageAddr);
  std::remove(path.c_str());
}

TEST(LoadKernel, BzImageUsesLinux64) {
  const std::string path = write_temp("bzImage", BzImageBuilder{}.build());
  auto initrd = pattern(3 * kPageSize, 8);
  const std::string initrd_path = write_temp("initrd", initrd);
  GuestMemory mem = make_memory(64 * kMiB);
  auto entry = load_kernel(mem, KernelBootConfig{path, initrd_path, "console=ttyS0", 2});
  ASSERT_TRUE(entry.ok()) << entry.error().message();
  EXPECT_EQ(entry->protocol, BootEntry::Protocol::kLinux64);
  EXPECT_EQ(entry->entry_gpa, 0x1000200u);
  EXPECT_EQ(entry->boot_params_gpa, kZeroPageAddr);
  EXPECT_EQ(read_zero_page(mem).get(zp::kRamdiskSize), initrd.size());
  std::remove(path.c_str());
  std::remove(initrd_path.c_str());
}

TEST(LoadKernel, ErrorsNameTheFile) {
  BzImageBuilder b;
  b.relocatable = 0;
  const std::string path = write_temp("bad-bzImage", b.build());
  GuestMemory mem = make_memory(64 * kMiB);
  auto entry = load_kernel(mem, KernelBootConfig{path, "", "", 1});
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.error().message(), path + ": kernel image: bzImage: kernel is not relocatable (built without "
                                            "CONFIG_RELOCATABLE); vmm needs a relocatable kernel");
  std::remove(path.c_str());

  ElfBuilder e = vmlinux();
  const std::string elf_path = write_temp("virtual-entry.elf", with_entry(e, 0xffffffff81000000));
  entry = load_kernel(mem, KernelBootConfig{elf_path, "", "", 1});
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.error().message().rfind(elf_path + " (ELF without a PVH note, booted with the Linux 64-bit "
                                                     "protocol): kernel image: entry point",
                                          0),
            0u)
      << entry.error().message();
  std::remove(elf_path.c_str());
}

}  // namespace
}  // namespace vmm::hv::boot
