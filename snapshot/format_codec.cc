#include "snapshot/format_codec.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

namespace vmm::snap {

const char* encoding_name(Encoding e) {
  switch (e) {
    case Encoding::kRaw: return "raw";
    case Encoding::kLz4: return "lz4";
  }
  return "unknown";
}

bool valid_name(const std::string& s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

namespace codec {

uint64_t get_le(std::span<const uint8_t> b, size_t off, size_t width) {
  VMM_CHECK(off + width <= b.size());
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= uint64_t{b[off + i]} << (8 * i);
  return v;
}

void put_le(std::span<uint8_t> b, size_t off, uint64_t value, size_t width) {
  VMM_CHECK(off + width <= b.size());
  for (size_t i = 0; i < width; ++i) b[off + i] = static_cast<uint8_t>(value >> (8 * i));
}

void put_str(std::span<uint8_t> b, size_t off, size_t len, const std::string& s) {
  VMM_CHECK(s.size() <= len && off + len <= b.size());
  std::memcpy(b.data() + off, s.data(), s.size());
  std::memset(b.data() + off + s.size(), 0, len - s.size());
}

Result<std::string> get_str(std::span<const uint8_t> b, size_t off, size_t len, const char* field) {
  VMM_CHECK(off + len <= b.size());
  size_t n = 0;
  while (n < len && b[off + n] != 0) {
    uint8_t c = b[off + n];
    if (c < 0x20 || c >= 0x7f) {
      return Error::make(Errc::kBadSnapshot, std::string(field) + " has a non-printable byte at position " +
                                                 std::to_string(n));
    }
    ++n;
  }
  for (size_t i = n; i < len; ++i) {
    if (b[off + i] != 0) return Error::make(Errc::kBadSnapshot, std::string(field) + " is not NUL-padded");
  }
  return std::string(reinterpret_cast<const char*>(b.data()) + off, n);
}

uint64_t xxh3(std::span<const uint8_t> bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

struct StreamHash::State {
  XXH3_state_t* s = XXH3_createState();
  ~State() { XXH3_freeState(s); }
};

StreamHash::StreamHash() : state_(std::make_unique<State>()) {
  VMM_CHECK(state_->s != nullptr);
  XXH3_64bits_reset(state_->s);
}
StreamHash::~StreamHash() = default;
StreamHash::StreamHash(StreamHash&&) noexcept = default;
StreamHash& StreamHash::operator=(StreamHash&&) noexcept = default;

void StreamHash::update(std::span<const uint8_t> bytes) { XXH3_64bits_update(state_->s, bytes.data(), bytes.size()); }

void StreamHash::update_zeros(uint64_t n) {
  static const uint8_t kZeros[64 * 1024] = {};
  while (n > 0) {
    size_t step = static_cast<size_t>(std::min<uint64_t>(n, sizeof kZeros));
    XXH3_64bits_update(state_->s, kZeros, step);
    n -= step;
  }
}

uint64_t StreamHash::digest() const { return XXH3_64bits_digest(state_->s); }

bool all_zero(const uint8_t* p, size_t len) {
  // OR-folding 64-byte blocks lets the compiler vectorise; the early exit per
  // block keeps data pages (which usually differ from zero in the first
  // bytes) cheap.
  size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    uint64_t acc = 0;
    for (size_t j = 0; j < 64; j += 8) {
      uint64_t w;
      std::memcpy(&w, p + i + j, 8);
      acc |= w;
    }
    if (acc != 0) return false;
  }
  for (; i < len; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

void encode_header(const Header& h, const TableIndex& index, std::span<uint8_t, kHeaderSize> out) {
  std::fill(out.begin(), out.end(), 0);
  std::span<uint8_t> b(out);
  std::memcpy(b.data() + hdr::kMagic, kMagic, sizeof kMagic);
  put_le(b, hdr::kMajor, h.major, 2);
  put_le(b, hdr::kMinor, h.minor, 2);
  put_le(b, hdr::kHeaderSize, kHeaderSize, 4);
  put_str(b, hdr::kArch, hdr::kArchLen, h.arch);
  put_le(b, hdr::kPageSize, h.page_size, 4);
  put_le(b, hdr::kCreationTime, static_cast<uint64_t>(h.creation_time), 8);
  put_le(b, hdr::kTscKhz, h.info.tsc_khz, 8);
  put_str(b, hdr::kVmmVersion, hdr::kVmmVersionLen, h.info.vmm_version);
  put_str(b, hdr::kCpuVendor, hdr::kCpuVendorLen, h.info.cpu.vendor);
  put_le(b, hdr::kCpuFamily, h.info.cpu.family, 4);
  put_le(b, hdr::kCpuModel, h.info.cpu.model, 4);
  put_le(b, hdr::kCpuStepping, h.info.cpu.stepping, 4);
  put_le(b, hdr::kCpuidHash, h.info.cpu.cpuid_hash, 8);
  put_le(b, hdr::kFileSize, h.file_size, 8);
  put_le(b, hdr::kSectionTable, index.section_offset, 8);
  put_le(b, hdr::kSectionCount, index.section_count, 4);
  put_le(b, hdr::kSectionEntrySize, index.section_entry_size, 4);
  put_le(b, hdr::kSectionTableSum, index.section_checksum, 8);
  put_le(b, hdr::kRegionTable, index.region_offset, 8);
  put_le(b, hdr::kRegionCount, index.region_count, 4);
  put_le(b, hdr::kRegionEntrySize, index.region_entry_size, 4);
  put_le(b, hdr::kRegionTableSum, index.region_checksum, 8);
  put_le(b, hdr::kChecksum, header_checksum(out), 8);
}

uint64_t header_checksum(std::span<const uint8_t, kHeaderSize> page) {
  return XXH3_64bits(page.data(), hdr::kChecksum);
}

void encode_section(const SectionInfo& s, std::span<uint8_t> e) {
  std::fill(e.begin(), e.end(), 0);
  put_str(e, sec::kKind, sec::kNameLen, s.kind);
  put_str(e, sec::kInstance, sec::kNameLen, s.instance);
  put_le(e, sec::kVersion, s.version, 4);
  put_le(e, sec::kMinVersion, s.min_version, 4);
  put_le(e, sec::kFlags, s.flags, 4);
  put_le(e, sec::kOffset, s.offset, 8);
  put_le(e, sec::kLength, s.length, 8);
  put_le(e, sec::kChecksum, s.checksum, 8);
}

Result<SectionInfo> decode_section(std::span<const uint8_t> e) {
  SectionInfo s;
  s.kind = VMM_TRY(get_str(e, sec::kKind, sec::kNameLen, "kind"));
  s.instance = VMM_TRY(get_str(e, sec::kInstance, sec::kNameLen, "instance id"));
  s.version = static_cast<uint32_t>(get_le(e, sec::kVersion, 4));
  s.min_version = static_cast<uint32_t>(get_le(e, sec::kMinVersion, 4));
  s.flags = static_cast<uint32_t>(get_le(e, sec::kFlags, 4));
  s.offset = get_le(e, sec::kOffset, 8);
  s.length = get_le(e, sec::kLength, 8);
  s.checksum = get_le(e, sec::kChecksum, 8);
  return s;
}

void encode_region(const RegionInfo& r, std::span<uint8_t> e) {
  std::fill(e.begin(), e.end(), 0);
  put_le(e, reg::kGpa, r.gpa, 8);
  put_le(e, reg::kSize, r.size, 8);
  put_le(e, reg::kEncoding, static_cast<uint32_t>(r.encoding), 4);
  put_le(e, reg::kChunkSize, r.chunk_size, 4);
  put_le(e, reg::kOffset, r.offset, 8);
  put_le(e, reg::kLength, r.length, 8);
  put_le(e, reg::kChecksum, r.checksum, 8);
  put_le(e, reg::kChunkCount, r.chunk_count, 8);
}

RegionInfo decode_region(std::span<const uint8_t> e) {
  RegionInfo r;
  r.gpa = get_le(e, reg::kGpa, 8);
  r.size = get_le(e, reg::kSize, 8);
  r.encoding = static_cast<Encoding>(get_le(e, reg::kEncoding, 4));  // validated by the reader
  r.chunk_size = static_cast<uint32_t>(get_le(e, reg::kChunkSize, 4));
  r.offset = get_le(e, reg::kOffset, 8);
  r.length = get_le(e, reg::kLength, 8);
  r.checksum = get_le(e, reg::kChecksum, 8);
  r.chunk_count = get_le(e, reg::kChunkCount, 8);
  return r;
}

void encode_chunk(const ChunkHeader& c, std::span<uint8_t> out) {
  put_le(out, chunk::kGuestOffset, c.guest_offset, 8);
  put_le(out, chunk::kRawLength, c.raw_length, 4);
  put_le(out, chunk::kCompressed, c.compressed_length, 4);
  put_le(out, chunk::kChecksum, c.checksum, 8);
}

ChunkHeader decode_chunk(std::span<const uint8_t> in) {
  ChunkHeader c;
  c.guest_offset = get_le(in, chunk::kGuestOffset, 8);
  c.raw_length = static_cast<uint32_t>(get_le(in, chunk::kRawLength, 4));
  c.compressed_length = static_cast<uint32_t>(get_le(in, chunk::kCompressed, 4));
  c.checksum = get_le(in, chunk::kChecksum, 8);
  return c;
}

}  // namespace codec
}  // namespace vmm::snap
