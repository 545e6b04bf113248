// Builds small ELF executables in memory for the loader tests, so every
// malformation can be made on purpose: segments with chosen addresses and
// sizes, PT_NOTE segments with chosen notes, 32- or 64-bit headers. The
// returned offsets let a test corrupt a specific field afterwards.
#pragma once

#include <elf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace vmm::hv::boot::test {

struct TestSegment {
  uint64_t paddr;
  std::vector<uint8_t> data;  // file bytes
  uint64_t memsz;             // >= data.size(); the rest is .bss
};

struct TestNote {
  std::string name;
  uint32_t type;
  std::vector<uint8_t> desc;
};

// A PVH entry note with a `size`-byte little-endian descriptor.
inline TestNote pvh_note(uint64_t entry, size_t size = 8) {
  std::vector<uint8_t> desc(size, 0);
  std::memcpy(desc.data(), &entry, std::min<size_t>(size, 8));
  return TestNote{"Xen", 18, desc};
}

// Deterministic bytes so a test can check where they landed.
inline std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> v(size);
  for (size_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return v;
}

class ElfBuilder {
 public:
  bool is_64bit = true;
  uint16_t machine = EM_X86_64;
  std::vector<TestSegment> segments;
  std::vector<std::vector<TestNote>> note_segments;

  // Where build() put things, for corrupting them afterwards.
  uint64_t phoff = 0;
  uint64_t phentsize = 0;
  std::vector<uint64_t> segment_offsets;

  std::vector<uint8_t> build() {
    return is_64bit ? build_as<Elf64_Ehdr, Elf64_Phdr>() : build_as<Elf32_Ehdr, Elf32_Phdr>();
  }

  // The file offset of program header `index` (segments first, then notes).
  uint64_t phdr_offset(size_t index) const { return phoff + index * phentsize; }

 private:
  static void align(std::vector<uint8_t>& v, size_t a) { v.resize((v.size() + a - 1) / a * a); }

  static std::vector<uint8_t> encode_notes(const std::vector<TestNote>& notes) {
    std::vector<uint8_t> out;
    for (const auto& n : notes) {
      uint32_t header[3] = {static_cast<uint32_t>(n.name.size() + 1), static_cast<uint32_t>(n.desc.size()), n.type};
      out.insert(out.end(), reinterpret_cast<uint8_t*>(header), reinterpret_cast<uint8_t*>(header) + 12);
      out.insert(out.end(), n.name.begin(), n.name.end());
      out.push_back(0);
      align(out, 4);
      out.insert(out.end(), n.desc.begin(), n.desc.end());
      align(out, 4);
    }
    return out;
  }

  template <class Ehdr, class Phdr>
  std::vector<uint8_t> build_as() {
    const size_t phnum = segments.size() + note_segments.size();
    std::vector<uint8_t> file(sizeof(Ehdr) + phnum * sizeof(Phdr));
    phoff = sizeof(Ehdr);
    phentsize = sizeof(Phdr);
    std::vector<Phdr> phdrs;
    segment_offsets.clear();
    for (const auto& s : segments) {
      align(file, 16);
      Phdr ph{};
      ph.p_type = PT_LOAD;
      ph.p_flags = PF_R | PF_W | PF_X;
      ph.p_offset = file.size();
      ph.p_vaddr = ph.p_paddr = s.paddr;
      ph.p_filesz = s.data.size();
      ph.p_memsz = s.memsz;
      ph.p_align = 16;
      segment_offsets.push_back(file.size());
      file.insert(file.end(), s.data.begin(), s.data.end());
      phdrs.push_back(ph);
    }
    for (const auto& notes : note_segments) {
      align(file, 4);
      auto bytes = encode_notes(notes);
      Phdr ph{};
      ph.p_type = PT_NOTE;
      ph.p_flags = PF_R;
      ph.p_offset = file.size();
      ph.p_filesz = bytes.size();
      ph.p_align = 4;
      file.insert(file.end(), bytes.begin(), bytes.end());
      phdrs.push_back(ph);
    }
    Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = is_64bit ? ELFCLASS64 : ELFCLASS32;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_EXEC;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_entry = segments.empty() ? 0 : segments[0].paddr;
    eh.e_phoff = phoff;
    eh.e_ehsize = sizeof(Ehdr);
    eh.e_phentsize = sizeof(Phdr);
    eh.e_phnum = static_cast<uint16_t>(phnum);
    std::memcpy(file.data(), &eh, sizeof eh);
    for (size_t i = 0; i < phdrs.size(); ++i) {
      std::memcpy(file.data() + phoff + i * sizeof(Phdr), &phdrs[i], sizeof(Phdr));
    }
    return file;
  }
};

// Overwrites a field of type T at `offset` in `file`.
template <class T>
void poke(std::vector<uint8_t>& file, uint64_t offset, T value) {
  std::memcpy(file.data() + offset, &value, sizeof value);
}

}  // namespace vmm::hv::boot::test
