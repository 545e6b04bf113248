#include "hypervisor/boot/elf.h"

#include <elf.h>
#include <fmt/format.h>

#include <cstring>

namespace vmm::hv::boot {
namespace {

Error bad(std::string message) { return Error::make(Errc::kBadImage, std::move(message)); }

// True if [offset, offset + size) lies inside a file of `file_size` bytes,
// without overflowing.
bool in_file(uint64_t offset, uint64_t size, uint64_t file_size) {
  return offset <= file_size && size <= file_size - offset;
}

template <class T>
T load(std::span<const uint8_t> file, uint64_t offset) {
  T value;
  std::memcpy(&value, file.data() + offset, sizeof value);
  return value;
}

uint64_t align_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }

// Walks one PT_NOTE segment (gABI "Note Section"): namesz, descsz, type, then
// the name and the descriptor, each starting at a multiple of the segment's
// alignment (4, or 8 for segments that say so, like GNU property notes, whose
// 12-byte header is followed by a name at offset 12 and a descriptor at 16).
Result<void> parse_notes(std::span<const uint8_t> data, uint64_t align, size_t segment, std::vector<ElfNote>& out) {
  uint64_t pos = 0;
  while (data.size() - pos >= 12) {
    auto namesz = load<uint32_t>(data, pos);
    auto descsz = load<uint32_t>(data, pos + 4);
    auto type = load<uint32_t>(data, pos + 8);
    uint64_t name_at = pos + 12;
    uint64_t desc_at = align_up(name_at + namesz, align);
    uint64_t next = align_up(desc_at + descsz, align);
    if (!in_file(name_at, namesz, data.size()) || !in_file(desc_at, descsz, data.size())) {
      return bad(fmt::format("note at offset {:#x} of segment {} runs past the segment", pos, segment));
    }
    std::string_view name(reinterpret_cast<const char*>(data.data() + name_at), namesz);
    if (!name.empty() && name.back() == '\0') name.remove_suffix(1);
    out.push_back(ElfNote{name, type, data.subspan(desc_at, descsz)});
    // The last note's padding may be cut off by the segment's end.
    if (next >= data.size()) break;
    pos = next;
  }
  return {};
}

template <class Ehdr, class Phdr>
Result<ElfImage> parse(std::span<const uint8_t> file, bool is_64bit) {
  if (file.size() < sizeof(Ehdr)) {
    return bad(fmt::format("truncated ELF header ({} bytes, need {})", file.size(), sizeof(Ehdr)));
  }
  auto eh = load<Ehdr>(file, 0);
  const uint16_t want_machine = is_64bit ? EM_X86_64 : EM_386;
  if (eh.e_machine != want_machine) {
    return bad(fmt::format("{}-bit ELF file for machine {} (want {}, {})", is_64bit ? 64 : 32, eh.e_machine,
                           want_machine, is_64bit ? "x86-64" : "i386"));
  }
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
    return bad(fmt::format("ELF file is not an executable (type {})", eh.e_type));
  }
  if (eh.e_phnum == 0) return bad("ELF file has no program headers");
  if (eh.e_phnum == PN_XNUM) return bad("ELF file has too many program headers (65535 or more)");
  if (eh.e_phentsize != sizeof(Phdr)) {
    return bad(fmt::format("ELF program header size {} (want {})", eh.e_phentsize, sizeof(Phdr)));
  }
  const uint64_t table_size = uint64_t{eh.e_phnum} * sizeof(Phdr);
  if (!in_file(eh.e_phoff, table_size, file.size())) {
    return bad(fmt::format("ELF program header table at {:#x} ({} entries) runs past the end of the file ({} bytes)",
                           uint64_t{eh.e_phoff}, eh.e_phnum, file.size()));
  }

  ElfImage image{is_64bit, eh.e_entry, {}, {}};
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    auto ph = load<Phdr>(file, eh.e_phoff + i * sizeof(Phdr));
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE) continue;
    if (!in_file(ph.p_offset, ph.p_filesz, file.size())) {
      return bad(fmt::format("segment {} data at offset {:#x} + {:#x} runs past the end of the file ({} bytes)", i,
                             uint64_t{ph.p_offset}, uint64_t{ph.p_filesz}, file.size()));
    }
    if (ph.p_type == PT_LOAD) {
      if (ph.p_filesz > ph.p_memsz) {
        return bad(fmt::format("segment {} has file size {:#x} larger than its memory size {:#x}", i,
                               uint64_t{ph.p_filesz}, uint64_t{ph.p_memsz}));
      }
      image.loads.push_back(ElfSegment{ph.p_paddr, ph.p_offset, ph.p_filesz, ph.p_memsz});
    } else {
      VMM_TRY(parse_notes(file.subspan(ph.p_offset, ph.p_filesz), ph.p_align == 8 ? 8 : 4, i, image.notes));
    }
  }
  return image;
}

}  // namespace

bool has_elf_magic(std::span<const uint8_t> file) {
  return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfImage> parse_elf(std::span<const uint8_t> file) {
  if (!has_elf_magic(file)) return bad("not an ELF file");
  if (file.size() < EI_NIDENT) return bad(fmt::format("truncated ELF header ({} bytes)", file.size()));
  if (file[EI_DATA] != ELFDATA2LSB) return bad("ELF file is not little-endian");
  if (file[EI_VERSION] != EV_CURRENT) return bad(fmt::format("unknown ELF version {}", file[EI_VERSION]));
  switch (file[EI_CLASS]) {
    case ELFCLASS64:
      return parse<Elf64_Ehdr, Elf64_Phdr>(file, true);
    case ELFCLASS32:
      return parse<Elf32_Ehdr, Elf32_Phdr>(file, false);
    default:
      return bad(fmt::format("unknown ELF class {}", file[EI_CLASS]));
  }
}

}  // namespace vmm::hv::boot
