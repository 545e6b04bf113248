// Shared by the unit_snapshot_file tests: a temporary directory, whole-file
// I/O, a sample snapshot, and resealing a forged file's checksums so hostile
// tests reach the bounds checks behind them.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "snapshot/format_codec.h"
#include "snapshot/snapshot_reader.h"
#include "snapshot/snapshot_writer.h"
#include "tests/fakes/temp_dir.h"

namespace vmm::snap::testing {

using Bytes = std::vector<uint8_t>;

using vmm::test::TempDir;

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  // A new file rather than a truncated one: ext4 flushes a file truncated
  // and rewritten (auto_da_alloc), which made the loops here wait on the disk.
  ::unlink(path.c_str());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline HeaderInfo sample_info() {
  HeaderInfo info;
  info.vmm_version = "0.1.0-test";
  info.cpu = CpuModel{"GenuineIntel", 6, 85, 7, 0x1234'5678'9abc'def0};
  info.tsc_khz = 2'900'000;
  return info;
}

inline Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Guest memory for the samples: mostly zero, some random pages, some
// compressible text.
inline Bytes sample_memory(size_t size, uint32_t seed) {
  Bytes m(size, 0);
  Bytes noise = random_bytes(3 * 4096, seed);
  std::copy(noise.begin(), noise.end(), m.begin() + 4096);
  for (size_t i = 0; i < 8192 && size > 20 * 4096 + i; ++i) m[20 * 4096 + i] = "snapshot "[i % 9];
  m[size - 1] = 0x5a;
  return m;
}

// A small snapshot with three sections, one raw and one lz4 region.
struct Sample {
  Bytes cpu0 = random_bytes(1000, 1);
  Bytes uart0 = random_bytes(37, 2);
  Bytes machine;  // empty payloads are legal
  Bytes low = sample_memory(64 * 4096, 3);
  Bytes high = sample_memory((1u << 20) + 16 * 4096, 4);  // two lz4 chunks, the second partial
};

inline Result<void> write_sample(const std::string& path, const Sample& s) {
  auto w = VMM_TRY(SnapshotWriter::create(path, sample_info()));
  VMM_TRY(w.add_section({"vcpu", "cpu0", 3, 2, kSectionMandatory}, s.cpu0));
  VMM_TRY(w.add_section({"uart-16550", "uart0", 1, 1, kSectionMandatory}, s.uart0));
  VMM_TRY(w.add_section({"machine", "machine", 1, 1, 0}, s.machine));
  VMM_TRY(w.add_memory_region(0, s.low, Encoding::kRaw));
  VMM_TRY(w.add_memory_region(1u << 30, s.high, Encoding::kLz4));
  return w.commit(false);
}

// Recomputes the table checksums and the header checksum from whatever the
// (forged) header says, so the reader's later checks are what rejects it.
inline void reseal(Bytes& f) {
  if (f.size() < kHeaderSize) return;
  std::span<uint8_t> h(f.data(), kHeaderSize);
  auto reseal_table = [&](size_t off_at, size_t count_at, size_t size_at, size_t sum_at) {
    uint64_t off = codec::get_le(h, off_at, 8);
    uint64_t len = codec::get_le(h, count_at, 4) * codec::get_le(h, size_at, 4);
    if (off <= f.size() && len <= f.size() - off) {
      codec::put_le(h, sum_at, codec::xxh3({f.data() + off, len}), 8);
    }
  };
  reseal_table(hdr::kSectionTable, hdr::kSectionCount, hdr::kSectionEntrySize, hdr::kSectionTableSum);
  reseal_table(hdr::kRegionTable, hdr::kRegionCount, hdr::kRegionEntrySize, hdr::kRegionTableSum);
  std::span<const uint8_t, kHeaderSize> page(f.data(), kHeaderSize);
  codec::put_le(h, hdr::kChecksum, codec::header_checksum(page), 8);
}

// Everything a restore or inspect would do with a file; returns the first
// error's message, or "" when the whole file is good.
inline std::string exercise(const std::string& path) {
  auto opened = SnapshotReader::open(path);
  if (!opened) return opened.error().message();
  SnapshotReader& r = *opened;
  for (size_t i = 0; i < r.sections().size(); ++i) {
    SectionInfo s = r.sections()[i];
    if (auto v = r.verify_section(i); !v) return v.error().message();
    if (auto t = r.take(s.kind, s.instance); !t) return t.error().message();
  }
  for (size_t i = 0; i < r.regions().size(); ++i) {
    // A forged lz4 region may legitimately claim a huge, all-zero guest
    // range; hashing a terabyte of zeros is slow, not wrong, so skip it.
    if (r.regions()[i].size > (64u << 20)) continue;
    if (auto v = r.verify_region(i); !v) return v.error().message();
    Bytes dest(r.regions()[i].size);
    if (auto rd = r.read_region(i, dest); !rd) return rd.error().message();
  }
  return "";
}

}  // namespace vmm::snap::testing
