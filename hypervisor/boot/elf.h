// A reader for the parts of an ELF executable a boot loader needs: the
// loadable segments and the notes (System V gABI, "ELF Header", "Program
// Header", "Note Section"). The file is untrusted user input, so every
// offset, size and count is checked against the file before it is used;
// nothing is loaded here. Little-endian x86 only: ELFCLASS64 with EM_X86_64
// or ELFCLASS32 with EM_386.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hypervisor/base/result.h"

namespace vmm::hv::boot {

struct ElfSegment {
  uint64_t paddr;   // p_paddr: where a boot loader places it
  uint64_t offset;  // p_offset
  uint64_t filesz;  // p_filesz <= memsz; the rest is zero-filled
  uint64_t memsz;
};

struct ElfNote {
  std::string_view name;  // without the terminating NUL
  uint32_t type;
  std::span<const uint8_t> desc;
};

// Views into the file passed to parse_elf: it must outlive this.
struct ElfImage {
  bool is_64bit;
  uint64_t entry;                 // e_entry (a virtual address; PVH ignores it)
  std::vector<ElfSegment> loads;  // PT_LOAD segments in file order
  std::vector<ElfNote> notes;     // from every PT_NOTE segment
};

// True if `file` starts with the ELF magic; says nothing about the rest.
bool has_elf_magic(std::span<const uint8_t> file);

// Parses and validates the headers: magic, class/machine agreement, an
// executable type, a program header table inside the file, PT_LOAD file
// data inside the file with p_filesz <= p_memsz, and well-formed notes.
// Errors are one line without a prefix ("not an ELF file"); callers add
// which file it was.
Result<ElfImage> parse_elf(std::span<const uint8_t> file);

}  // namespace vmm::hv::boot
