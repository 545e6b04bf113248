// Encoding and decoding of format 1's fixed-width little-endian records (the
// header page, table entries, lz4 chunk headers) and the XXH3-64 checksums.
// Decoders check only what one record can tell; the reader checks the rest
// (bounds against the file, limits, overlaps).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "hypervisor/base/result.h"
#include "snapshot/snapshot_format.h"

namespace vmm::snap::codec {

uint64_t get_le(std::span<const uint8_t> b, size_t off, size_t width);
void put_le(std::span<uint8_t> b, size_t off, uint64_t value, size_t width);

// A NUL-padded ASCII field of `len` bytes. The writer refuses what does not
// fit; the reader refuses non-printable bytes and anything after the first
// NUL, so each string has exactly one encoding.
void put_str(std::span<uint8_t> b, size_t off, size_t len, const std::string& s);
Result<std::string> get_str(std::span<const uint8_t> b, size_t off, size_t len, const char* field);

uint64_t xxh3(std::span<const uint8_t> bytes);

// XXH3-64 over a sequence of pieces (a region's content may arrive in many).
class StreamHash {
 public:
  StreamHash();
  ~StreamHash();
  StreamHash(StreamHash&&) noexcept;
  StreamHash& operator=(StreamHash&&) noexcept;
  void update(std::span<const uint8_t> bytes);
  void update_zeros(uint64_t n);  // n zero bytes (holes), without touching memory
  uint64_t digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// True when `len` bytes at p are all zero; cheap enough to run on every page.
bool all_zero(const uint8_t* p, size_t len);

// Where the tables are; part of the header.
struct TableIndex {
  uint64_t section_offset = 0;
  uint32_t section_count = 0;
  uint32_t section_entry_size = sec::kEntrySize;
  uint64_t section_checksum = 0;
  uint64_t region_offset = 0;
  uint32_t region_count = 0;
  uint32_t region_entry_size = reg::kEntrySize;
  uint64_t region_checksum = 0;
};

// The whole header page, including its checksum.
void encode_header(const Header& h, const TableIndex& index, std::span<uint8_t, kHeaderSize> out);
uint64_t header_checksum(std::span<const uint8_t, kHeaderSize> page);

void encode_section(const SectionInfo& s, std::span<uint8_t> entry);
Result<SectionInfo> decode_section(std::span<const uint8_t> entry);

void encode_region(const RegionInfo& r, std::span<uint8_t> entry);
RegionInfo decode_region(std::span<const uint8_t> entry);

struct ChunkHeader {
  uint64_t guest_offset = 0;
  uint32_t raw_length = 0;
  uint32_t compressed_length = 0;
  uint64_t checksum = 0;
};
void encode_chunk(const ChunkHeader& c, std::span<uint8_t> out);
ChunkHeader decode_chunk(std::span<const uint8_t> in);

}  // namespace vmm::snap::codec
