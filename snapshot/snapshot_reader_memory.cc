// SnapshotReader: the memory region table and region contents — private
// mappings for lazy restore, eager reads, and checksum verification.
#include <fcntl.h>
#include <fmt/format.h>
#include <lz4.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "snapshot/file_io.h"
#include "snapshot/snapshot_reader.h"

namespace vmm::snap {
namespace {

using io::hex;

// Raw regions are read and hashed in steps of this size when verifying.
constexpr uint64_t kReadStep = 4u << 20;

}  // namespace

Result<void> SnapshotReader::load_regions() {
  const uint32_t stride = index_.region_entry_size;
  auto table = VMM_TRY(read_table(index_.region_offset, index_.region_count, stride, index_.region_checksum,
                                  "region"));
  const uint64_t page = header_.page_size;
  const uint64_t file_size = header_.file_size;
  regions_.reserve(index_.region_count);
  for (uint32_t i = 0; i < index_.region_count; ++i) {
    RegionInfo r = codec::decode_region(std::span<const uint8_t>(table).subspan(size_t{i} * stride, stride));
    std::string name = region_name(i);
    if (r.encoding != Encoding::kRaw && r.encoding != Encoding::kLz4) {
      return bad(fmt::format("{}: encoding {} is unknown", name, static_cast<uint32_t>(r.encoding)));
    }
    if (r.size == 0 || r.size % page || r.gpa % page) {
      return bad(fmt::format("{}: gpa {} size {} is empty or not page aligned", name, hex(r.gpa), hex(r.size)));
    }
    if (r.size > limits_.max_region_size) {
      return bad(fmt::format("{}: size {} exceeds the limit {}", name, hex(r.size), hex(limits_.max_region_size)));
    }
    if (r.gpa + r.size < r.gpa) return bad(fmt::format("{}: gpa {} size {} wraps", name, hex(r.gpa), hex(r.size)));
    if (r.offset < kHeaderSize) return bad(fmt::format("{}: offset {} overlaps the header", name, hex(r.offset)));
    if (r.offset > file_size) {
      return bad(fmt::format("{}: offset {} is past the end of the file (size {})", name, hex(r.offset),
                             hex(file_size)));
    }
    if (r.length > file_size - r.offset) {
      return bad(fmt::format("{}: length {} runs past the end of the file (size {})", name, hex(r.length),
                             hex(file_size)));
    }
    if (r.encoding == Encoding::kRaw) {
      if (r.offset % page) return bad(fmt::format("{}: raw offset {} is not page aligned", name, hex(r.offset)));
      if (r.length != r.size) {
        return bad(fmt::format("{}: raw length {} differs from its size {}", name, hex(r.length), hex(r.size)));
      }
      if (r.chunk_size != 0 || r.chunk_count != 0) return bad(name + ": raw region has a chunk size or count");
    } else {
      if (r.chunk_size == 0 || r.chunk_size > kMaxChunkSize) {
        return bad(fmt::format("{}: chunk size {} is out of range", name, hex(r.chunk_size)));
      }
      uint64_t max_chunks = (r.size - 1) / r.chunk_size + 1;
      if (r.chunk_count > max_chunks) {
        return bad(fmt::format("{}: chunk count {} exceeds {} for its size", name, r.chunk_count, max_chunks));
      }
      if (r.chunk_count * chunk::kHeaderSize > r.length) {  // chunk_count <= 2^40: no overflow
        return bad(fmt::format("{}: length {} cannot hold {} chunks", name, hex(r.length), r.chunk_count));
      }
    }
    for (size_t j = 0; j < regions_.size(); ++j) {
      const RegionInfo& o = regions_[j];
      if (r.gpa < o.gpa + o.size && o.gpa < r.gpa + r.size) {
        return bad(fmt::format("{}: gpa {} size {} overlaps region {}", name, hex(r.gpa), hex(r.size), j));
      }
    }
    regions_.push_back(r);
  }
  return {};
}

Result<Mapping> SnapshotReader::map_region_private(size_t i) const {
  if (i >= regions_.size()) return Error::make(Errc::kOutOfRange, fmt::format("snapshot {}: no region {}", path_, i));
  const RegionInfo& r = regions_[i];
  if (r.encoding != Encoding::kRaw) {
    return Error::make(Errc::kUnsupported, fmt::format("snapshot {}: {}: {} regions cannot be mapped, only read",
                                                       path_, region_name(i), encoding_name(r.encoding)));
  }
  return Mapping::map(r.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd_.get(),
                      static_cast<off_t>(r.offset))
      .context(fmt::format("snapshot {}: {}: map privately", path_, region_name(i)));
}

Result<void> SnapshotReader::read_region(size_t i, std::span<uint8_t> dest, bool dest_zeroed) const {
  if (i >= regions_.size()) return Error::make(Errc::kOutOfRange, fmt::format("snapshot {}: no region {}", path_, i));
  if (dest.size() != regions_[i].size) {
    return Error::make(Errc::kInvalidArgument, fmt::format("snapshot {}: {}: destination is {} bytes, region is {}",
                                                           path_, region_name(i), hex(dest.size()),
                                                           hex(regions_[i].size)));
  }
  if (regions_[i].encoding == Encoding::kRaw) return scan_raw(i, dest, dest_zeroed);
  return scan_lz4(i, dest, dest_zeroed);
}

Result<void> SnapshotReader::verify_region(size_t i) const {
  if (i >= regions_.size()) return Error::make(Errc::kOutOfRange, fmt::format("snapshot {}: no region {}", path_, i));
  if (regions_[i].encoding == Encoding::kRaw) return scan_raw(i, {}, false);
  return scan_lz4(i, {}, false);
}

// Walks the region's data extents (SEEK_DATA/SEEK_HOLE), so holes cost
// neither a read nor, with dest_zeroed, a write; an empty `dest` only hashes.
Result<void> SnapshotReader::scan_raw(size_t i, std::span<uint8_t> dest, bool dest_zeroed) const {
  const RegionInfo& r = regions_[i];
  const std::string what = fmt::format("snapshot {}: read {}", path_, region_name(i));
  codec::StreamHash hash;
  std::vector<uint8_t> scratch;
  uint64_t pos = 0;  // from the region's start
  auto zeros = [&](uint64_t len) {
    hash.update_zeros(len);
    if (!dest.empty() && !dest_zeroed) std::memset(dest.data() + pos, 0, len);
    pos += len;
  };
  while (pos < r.size) {
    io::Extent data = io::next_data(fd_.get(), r.offset, pos, r.size);
    zeros(data.start - pos);
    for (; pos < data.stop;) {
      uint64_t len = std::min(kReadStep, data.stop - pos);
      std::span<uint8_t> into;
      if (dest.empty()) {
        scratch.resize(len);
        into = scratch;
      } else {
        into = dest.subspan(pos, len);
      }
      VMM_TRY(io::pread_all(fd_.get(), into, r.offset + pos, what));
      hash.update(into);
      pos += len;
    }
  }
  uint64_t computed = hash.digest();
  if (computed != r.checksum) {
    return bad(fmt::format("{}: checksum mismatch (stored {}, computed {})", region_name(i), hex(r.checksum),
                           hex(computed)));
  }
  return {};
}

// Decodes the region's chunks in order, checking each header against the
// region and the file before reading, each chunk's checksum before
// decompressing, and the decompressed size; absent chunks are zero.
Result<void> SnapshotReader::scan_lz4(size_t i, std::span<uint8_t> dest, bool dest_zeroed) const {
  const RegionInfo& r = regions_[i];
  codec::StreamHash hash;
  std::vector<uint8_t> compressed, scratch;
  const uint64_t end = r.offset + r.length;
  uint64_t pos = r.offset;
  uint64_t next = 0;  // guest offset just past the previous chunk
  auto zeros = [&](uint64_t upto) {
    hash.update_zeros(upto - next);
    if (!dest.empty() && !dest_zeroed) std::memset(dest.data() + next, 0, upto - next);
  };
  for (uint64_t c = 0; c < r.chunk_count; ++c) {
    std::string name = fmt::format("{}: chunk {}", region_name(i), c);
    if (end - pos < chunk::kHeaderSize) return bad(name + ": header runs past the end of the region");
    uint8_t raw_header[chunk::kHeaderSize];
    VMM_TRY(io::pread_all(fd_.get(), raw_header, pos, fmt::format("snapshot {}: read {}", path_, name)));
    codec::ChunkHeader h = codec::decode_chunk(raw_header);
    pos += chunk::kHeaderSize;
    if (h.guest_offset < next || h.guest_offset >= r.size || h.guest_offset % r.chunk_size) {
      return bad(fmt::format("{}: guest offset {} is out of order, unaligned or past the region", name,
                             hex(h.guest_offset)));
    }
    uint64_t expect_raw = std::min<uint64_t>(r.chunk_size, r.size - h.guest_offset);
    if (h.raw_length != expect_raw) {
      return bad(fmt::format("{}: raw length {} should be {}", name, hex(h.raw_length), hex(expect_raw)));
    }
    uint64_t bound = static_cast<uint64_t>(LZ4_compressBound(static_cast<int>(h.raw_length)));
    if (h.compressed_length == 0 || h.compressed_length > bound) {
      return bad(fmt::format("{}: compressed length {} is out of range", name, hex(h.compressed_length)));
    }
    if (h.compressed_length > end - pos) {
      return bad(fmt::format("{}: compressed length {} runs past the end of the region", name,
                             hex(h.compressed_length)));
    }
    compressed.resize(h.compressed_length);
    VMM_TRY(io::pread_all(fd_.get(), compressed, pos, fmt::format("snapshot {}: read {}", path_, name)));
    pos += h.compressed_length;
    if (uint64_t computed = codec::xxh3(compressed); computed != h.checksum) {
      return bad(fmt::format("{}: checksum mismatch (stored {}, computed {})", name, hex(h.checksum), hex(computed)));
    }
    zeros(h.guest_offset);
    std::span<uint8_t> out;
    if (dest.empty()) {
      scratch.resize(h.raw_length);
      out = scratch;
    } else {
      out = dest.subspan(h.guest_offset, h.raw_length);
    }
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(compressed.data()), reinterpret_cast<char*>(out.data()),
                                static_cast<int>(h.compressed_length), static_cast<int>(h.raw_length));
    if (n != static_cast<int>(h.raw_length)) {
      return bad(fmt::format("{}: corrupt lz4 data (decoded {} of {} bytes)", name, n, h.raw_length));
    }
    hash.update(out);
    next = h.guest_offset + h.raw_length;
  }
  if (pos != end) return bad(fmt::format("{}: {} bytes after the last chunk", region_name(i), end - pos));
  zeros(r.size);
  uint64_t computed = hash.digest();
  if (computed != r.checksum) {
    return bad(fmt::format("{}: checksum mismatch (stored {}, computed {})", region_name(i), hex(r.checksum),
                           hex(computed)));
  }
  return {};
}

}  // namespace vmm::snap
