// PVH loader on crafted images: what a good image leaves in guest memory,
// and that each kind of bad input gives its own clear error and writes
// nothing.
#include "hypervisor/boot/kernel_format.h"
#include "hypervisor/boot/pvh.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include <string>

#include "hypervisor/boot/e820.h"
#include "hypervisor/boot/mptable.h"
#include "hypervisor/boot/vcpu_boot_state.h"
#include "hypervisor/boot/x86_layout.h"
#include "tests/unit/boot/elf_builder.h"

namespace vmm::hv::boot {
namespace {

using test::ElfBuilder;
using test::pattern;
using test::pvh_note;

constexpr uint64_t kEntry = 0x100010;

GuestMemory make_memory(uint64_t bytes) {
  auto mem = GuestMemory::create(ram_layout(bytes));
  EXPECT_TRUE(mem.ok()) << mem.error().message();
  return std::move(mem).value();
}

// Text at 1 MiB (with 12 KiB of .bss), data at 2 MiB, a PVH note.
ElfBuilder good_image() {
  ElfBuilder b;
  b.segments.push_back({0x100000, pattern(0x1234, 1), 0x4000});
  b.segments.push_back({0x200000, pattern(0x800, 2), 0x800});
  b.note_segments.push_back({{"GNU", 1, {1, 2, 3, 4}}, pvh_note(kEntry)});
  return b;
}

std::vector<uint8_t> read_bytes(const GuestMemory& mem, uint64_t gpa, size_t size) {
  std::vector<uint8_t> out(size);
  EXPECT_TRUE(mem.read(gpa, out).ok());
  return out;
}

TEST(Pvh, LoadsGoodImage) {
  GuestMemory mem = make_memory(128 * kMiB);
  // Dirty the .bss area first: the loader must zero it, not assume zeros.
  std::vector<uint8_t> junk(0x4000, 0xcc);
  ASSERT_TRUE(mem.write(0x100000, junk).ok());

  ElfBuilder b = good_image();
  auto elf = b.build();
  const std::string cmdline = "console=ttyS0 tg.workload=ready";
  auto initrd = pattern(3 * kPageSize + 5, 9);
  PvhConfig config{cmdline, std::span<const uint8_t>(initrd), 2};
  auto info = load_pvh(mem, elf, config);
  ASSERT_TRUE(info.ok()) << info.error().message();

  EXPECT_EQ(info->entry_gpa, kEntry);
  EXPECT_EQ(info->start_info_gpa, kPvhStartInfoAddr);
  EXPECT_EQ(info->kernel_end, 0x200800u);

  // Segments: file bytes, then zeros.
  EXPECT_EQ(read_bytes(mem, 0x100000, 0x1234), b.segments[0].data);
  EXPECT_EQ(read_bytes(mem, 0x101234, 0x4000 - 0x1234), std::vector<uint8_t>(0x4000 - 0x1234, 0));
  EXPECT_EQ(read_bytes(mem, 0x200000, 0x800), b.segments[1].data);

  auto start = mem.read_obj<HvmStartInfo>(kPvhStartInfoAddr);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->magic, 0x336ec578u);
  EXPECT_EQ(start->version, 1u);
  EXPECT_EQ(start->flags, 0u);
  EXPECT_EQ(start->rsdp_paddr, 0u);
  EXPECT_EQ(start->reserved, 0u);

  // Command line, NUL-terminated.
  EXPECT_EQ(start->cmdline_paddr, kCmdlineAddr);
  auto cmd = read_bytes(mem, kCmdlineAddr, cmdline.size() + 1);
  EXPECT_EQ(std::string(cmd.begin(), cmd.end() - 1), cmdline);
  EXPECT_EQ(cmd.back(), 0);

  // Memory map: the e820 map, entry for entry.
  auto e820 = e820_map(ram_layout(128 * kMiB));
  ASSERT_EQ(start->memmap_entries, e820.size());
  EXPECT_EQ(start->memmap_paddr, kPvhMemmapAddr);
  for (size_t i = 0; i < e820.size(); ++i) {
    auto m = mem.read_obj<HvmMemmapEntry>(kPvhMemmapAddr + i * sizeof(HvmMemmapEntry));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->addr, e820[i].addr) << i;
    EXPECT_EQ(m->size, e820[i].size) << i;
    EXPECT_EQ(m->type, static_cast<uint32_t>(e820[i].type)) << i;
    EXPECT_EQ(m->reserved, 0u);
  }

  // Initrd: module 0, page-aligned at the top of RAM.
  ASSERT_TRUE(info->initrd.has_value());
  EXPECT_EQ(info->initrd->size, initrd.size());
  EXPECT_EQ(info->initrd->gpa % kPageSize, 0u);
  EXPECT_LE(info->initrd->gpa + info->initrd->size, 128 * kMiB);
  EXPECT_GT(info->initrd->gpa + info->initrd->size + kPageSize, 128 * kMiB);
  EXPECT_EQ(read_bytes(mem, info->initrd->gpa, initrd.size()), initrd);
  EXPECT_EQ(start->nr_modules, 1u);
  EXPECT_EQ(start->modlist_paddr, kPvhModlistAddr);
  auto mod = mem.read_obj<HvmModlistEntry>(kPvhModlistAddr);
  ASSERT_TRUE(mod.ok());
  EXPECT_EQ(mod->paddr, info->initrd->gpa);
  EXPECT_EQ(mod->size, initrd.size());
  EXPECT_EQ(mod->cmdline_paddr, 0u);

  // The MP table and the boot GDT are there too.
  EXPECT_EQ(read_bytes(mem, kMpTableAddr, 4), (std::vector<uint8_t>{'_', 'M', 'P', '_'}));
  auto gdt = mem.read_obj<std::array<uint64_t, 4>>(kBootGdtAddr);
  ASSERT_TRUE(gdt.ok());
  EXPECT_EQ(*gdt, boot_gdt());
}

TEST(Pvh, NoInitrdMeansNoModules) {
  GuestMemory mem = make_memory(64 * kMiB);
  auto elf = good_image().build();
  auto info = load_pvh(mem, elf, PvhConfig{"", std::nullopt, 1});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_FALSE(info->initrd.has_value());
  auto start = mem.read_obj<HvmStartInfo>(kPvhStartInfoAddr);
  EXPECT_EQ(start->nr_modules, 0u);
  EXPECT_EQ(start->modlist_paddr, 0u);
  EXPECT_EQ(read_bytes(mem, kCmdlineAddr, 1), std::vector<uint8_t>{0});
}

TEST(Pvh, InitrdStaysBelowThreeGiB) {
  GuestMemory mem = make_memory(5 * kGiB);
  auto elf = good_image().build();
  auto initrd = pattern(kMiB, 3);
  auto info = load_pvh(mem, elf, PvhConfig{"", std::span<const uint8_t>(initrd), 1});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->initrd->gpa, kPciHoleStart - kMiB);
  auto start = mem.read_obj<HvmStartInfo>(kPvhStartInfoAddr);
  EXPECT_EQ(start->memmap_entries, 4u);  // low RAM, reserved, RAM to 3 GiB, RAM above 4 GiB
}

TEST(Pvh, LoadsElf32) {
  GuestMemory mem = make_memory(16 * kMiB);
  ElfBuilder b = good_image();
  b.is_64bit = false;
  b.machine = EM_386;
  b.note_segments = {{pvh_note(kEntry, 4)}};
  auto elf = b.build();
  auto info = load_pvh(mem, elf, PvhConfig{});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->entry_gpa, kEntry);
  EXPECT_EQ(read_bytes(mem, 0x200000, 0x800), b.segments[1].data);
}

// --- Bad input ----------------------------------------------------------------

struct Failure {
  Errc code;
  std::string message;
};

// Loads into a fresh 128 MiB guest, expects failure, and checks that nothing
// was written anywhere the loader would write.
Failure load_fails(std::span<const uint8_t> elf, const PvhConfig& config = {}) {
  GuestMemory mem = make_memory(128 * kMiB);
  auto info = load_pvh(mem, elf, config);
  EXPECT_FALSE(info.ok());
  if (info.ok()) return {Errc::kSys, ""};
  for (uint64_t gpa : {kPvhStartInfoAddr, kCmdlineAddr, kMpTableAddr, kBootGdtAddr + 8, uint64_t{0x100000}}) {
    EXPECT_EQ(mem.read_obj<uint64_t>(gpa).value(), 0u) << "wrote at " << std::hex << gpa;
  }
  EXPECT_EQ(mem.read_obj<uint64_t>(128 * kMiB - 8).value(), 0u) << "wrote the initrd";
  return {info.error().code(), info.error().message()};
}

#define EXPECT_FAILS_WITH(failure, code_, text)                  \
  do {                                                           \
    auto f_ = (failure);                                         \
    EXPECT_EQ(f_.code, code_) << f_.message;                     \
    EXPECT_NE(f_.message.find(text), std::string::npos) << f_.message; \
  } while (0)

TEST(PvhBadImage, NotElf) {
  std::vector<uint8_t> text(200, 'x');
  EXPECT_FAILS_WITH(load_fails(text), Errc::kBadImage, "kernel image: not an ELF file");
}

TEST(PvhBadImage, TruncatedHeader) {
  auto elf = good_image().build();
  elf.resize(40);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "kernel image: truncated ELF header (40 bytes, need 64)");
  elf.resize(10);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "truncated ELF header");
}

TEST(PvhBadImage, PhdrTablePastEof) {
  auto elf = good_image().build();
  test::poke<uint64_t>(elf, offsetof(Elf64_Ehdr, e_phoff), elf.size() - 8);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "program header table");
  test::poke<uint64_t>(elf, offsetof(Elf64_Ehdr, e_phoff), ~uint64_t{0} - 4);  // offset + size wraps
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "runs past the end of the file");
}

TEST(PvhBadImage, SegmentOffsetPastEof) {
  ElfBuilder b = good_image();
  auto elf = b.build();
  test::poke<uint64_t>(elf, b.phdr_offset(1) + offsetof(Elf64_Phdr, p_offset), elf.size() - 0x10);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "segment 1 data at offset");
}

TEST(PvhBadImage, FileSizeAboveMemorySize) {
  ElfBuilder b = good_image();
  b.segments[1].memsz = 0x10;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "larger than its memory size");
}

TEST(PvhBadImage, SegmentPastGuestRam) {
  ElfBuilder b = good_image();
  b.segments[1].memsz = 200 * kMiB;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: segment at 0x200000 needs RAM up to 0xca00000 (202 MiB) but the guest's low RAM "
                    "ends at 0x8000000 (128 MiB); give the guest more memory");
  b = good_image();
  b.segments[1].paddr = 0xfec00000;  // the IOAPIC, in the PCI hole
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "is outside the RAM below 3 GiB");
}

TEST(PvhBadImage, SegmentBelowOneMiB) {
  ElfBuilder b = good_image();
  b.segments[1].paddr = 0x8000;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "segment at 0x8000 is below 1 MiB");
}

TEST(PvhBadImage, SegmentWraps) {
  ElfBuilder b = good_image();
  b.segments[1].paddr = ~uint64_t{0} - 0xfff;
  b.segments[1].memsz = 0x2000;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "wraps around the address space");
}

TEST(PvhBadImage, SegmentsOverlap) {
  ElfBuilder b = good_image();
  b.segments[1].paddr = 0x102000;  // inside the first segment's .bss
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "segments at 0x100000 and 0x102000 overlap");
}

TEST(PvhBadImage, NoLoadableSegments) {
  ElfBuilder b = good_image();
  b.segments.clear();
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "kernel image: no loadable segments");
  b.segments.push_back({0x100000, {}, 0});  // empty segments do not count
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "no loadable segments");
}

TEST(PvhBadImage, NoPvhNote) {
  ElfBuilder b = good_image();
  b.note_segments = {{{"GNU", 3, {1, 2, 3, 4}}, {"Xen", 17, {0, 0, 0, 0}}}};
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage,
                    "kernel image: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
  b.note_segments.clear();
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "no PVH entry note");
}

TEST(PvhBadImage, NoteWithBadSize) {
  ElfBuilder b = good_image();
  b.note_segments = {{pvh_note(kEntry, 6)}};
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "PVH entry note has a 6-byte descriptor (want 4 or 8)");
  b.note_segments = {{pvh_note(0x100000000ull, 8)}};
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "PVH entry 0x100000000 is above 4 GiB");
}

TEST(PvhBadImage, NoteRunsPastSegment) {
  ElfBuilder b = good_image();
  b.note_segments = {{pvh_note(kEntry)}};
  auto elf = b.build();
  // The note segment is program header 2; its first word is namesz.
  uint64_t notes_at = 0;
  std::memcpy(&notes_at, elf.data() + b.phdr_offset(2) + offsetof(Elf64_Phdr, p_offset), 8);
  test::poke<uint32_t>(elf, notes_at, 0x7fffffff);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "note at offset 0x0 of segment 2 runs past the segment");
}

TEST(PvhBadImage, EntryOutsideSegments) {
  ElfBuilder b = good_image();
  b.note_segments = {{pvh_note(0x103000)}};  // in .bss, not in file data
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "PVH entry 0x103000 is not inside a loaded segment");
}

TEST(PvhBadImage, ClassMachineMismatch) {
  ElfBuilder b = good_image();
  b.machine = EM_386;
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "64-bit ELF file for machine 3 (want 62, x86-64)");
  b = good_image();
  b.is_64bit = false;  // ELFCLASS32 with EM_X86_64 (x32)
  EXPECT_FAILS_WITH(load_fails(b.build()), Errc::kBadImage, "32-bit ELF file for machine 62 (want 3, i386)");
}

TEST(PvhBadImage, WrongTypeAndEndianness) {
  auto elf = good_image().build();
  test::poke<uint16_t>(elf, offsetof(Elf64_Ehdr, e_type), ET_REL);
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "not an executable (type 1)");
  elf = good_image().build();
  elf[EI_DATA] = ELFDATA2MSB;
  EXPECT_FAILS_WITH(load_fails(elf), Errc::kBadImage, "not little-endian");
}

// Random bit flips in the headers and notes: every outcome is a clean
// success or a clean error (run under ASan/UBSan to mean something).
TEST(PvhBadImage, CorruptedImagesNeverCrash) {
  GuestMemory mem = make_memory(16 * kMiB);
  ElfBuilder b = good_image();
  const auto good = b.build();
  const size_t headers = b.phdr_offset(3);  // ELF header and the three program headers
  uint32_t state = 12345;
  auto next = [&state] {
    state = state * 1103515245u + 12345u;
    return state >> 8;
  };
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    auto elf = good;
    for (uint32_t k = 0, flips = 1 + next() % 4; k < flips; ++k) {
      const size_t at = (next() % 2) ? next() % headers : next() % elf.size();
      elf[at] = static_cast<uint8_t>(elf[at] ^ (1u << (next() % 8)));
    }
    auto r = load_pvh(mem, elf, PvhConfig{"x", std::nullopt, 1});
    if (r.ok()) {
      ++loaded;
    } else {
      EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << "one-line messages";
      EXPECT_FALSE(r.error().message().empty());
    }
  }
  EXPECT_GT(loaded, 0);  // some flips hit don't-care bits
  EXPECT_LT(loaded, 3000);
}

TEST(PvhBadConfig, CmdlineTooLong) {
  auto elf = good_image().build();
  std::string longest(kCmdlineMaxSize - 1, 'a');
  GuestMemory mem = make_memory(128 * kMiB);
  EXPECT_TRUE(load_pvh(mem, elf, PvhConfig{longest, std::nullopt, 1}).ok());
  std::string too_long(kCmdlineMaxSize, 'a');
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{too_long, std::nullopt, 1}), Errc::kInvalidArgument,
                    "kernel command line: 65536 bytes is longer than the limit of 65535");
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{std::string_view("a\0b", 3), std::nullopt, 1}),
                    Errc::kInvalidArgument, "contains a NUL byte");
}

TEST(PvhBadConfig, InitrdTooLarge) {
  auto elf = good_image().build();
  std::vector<uint8_t> initrd(127 * kMiB, 1);
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{"", std::span<const uint8_t>(initrd), 1}), Errc::kInvalidArgument,
                    "initrd: 127 MiB does not fit in guest RAM");
  std::vector<uint8_t> empty;
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{"", std::span<const uint8_t>(empty), 1}), Errc::kInvalidArgument,
                    "initrd: file is empty");
}

TEST(PvhBadConfig, CpuCount) {
  auto elf = good_image().build();
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{"", std::nullopt, 0}), Errc::kInvalidArgument,
                    "MP table: 0 vCPUs is out of range (1 to 254)");
  EXPECT_FAILS_WITH(load_fails(elf, PvhConfig{"", std::nullopt, 255}), Errc::kInvalidArgument, "255 vCPUs");
}

}  // namespace
}  // namespace vmm::hv::boot

namespace vmm::hv::boot {
namespace {

// A real toolchain ELF: its GNU property note lives in an 8-aligned PT_NOTE
// segment (descriptor at offset 16, not 20), which must parse as a note-only
// ELF without a PVH entry rather than as a broken one.
TEST(KernelFormat, HostExecutableIsAnElfWithoutPvhNote) {
  std::ifstream in("/proc/self/exe", std::ios::binary);
  std::vector<uint8_t> self((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(self.size(), 64u);
  EXPECT_EQ(detect_kernel_format(self), KernelFormat::kElfNoPvh);
}

}  // namespace
}  // namespace vmm::hv::boot
