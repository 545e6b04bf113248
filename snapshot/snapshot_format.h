// Snapshot file format 1 (design §5; byte by byte in docs/snapshot-format.md):
// the public description of a file's header, sections and memory regions, the
// on-disk layout constants, and the limits a reader enforces on hostile input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vmm::snap {

// ------------------------------------------------------------ format identity
inline constexpr char kMagic[8] = {'V', 'M', 'M', '-', 'S', 'N', 'A', 'P'};
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
inline constexpr size_t kHeaderSize = 4096;

// ------------------------------------------------------------ header layout
// Offsets of the header page's fields; the reader, the writer and the tests
// (which forge hostile files) all use these, so they cannot disagree.
namespace hdr {
inline constexpr size_t kMagic = 0;             // 8 bytes
inline constexpr size_t kMajor = 8;             // u16
inline constexpr size_t kMinor = 10;            // u16
inline constexpr size_t kHeaderSize = 12;       // u32
inline constexpr size_t kArch = 16;             // char[16]
inline constexpr size_t kPageSize = 32;         // u32
inline constexpr size_t kCreationTime = 40;     // i64, UTC seconds
inline constexpr size_t kTscKhz = 48;           // u64
inline constexpr size_t kVmmVersion = 56;       // char[32]
inline constexpr size_t kCpuVendor = 88;        // char[16]
inline constexpr size_t kCpuFamily = 104;       // u32
inline constexpr size_t kCpuModel = 108;        // u32
inline constexpr size_t kCpuStepping = 112;     // u32
inline constexpr size_t kCpuidHash = 120;       // u64
inline constexpr size_t kFileSize = 128;        // u64
inline constexpr size_t kSectionTable = 136;    // u64 offset
inline constexpr size_t kSectionCount = 144;    // u32
inline constexpr size_t kSectionEntrySize = 148;  // u32
inline constexpr size_t kSectionTableSum = 152;   // u64
inline constexpr size_t kRegionTable = 160;     // u64 offset
inline constexpr size_t kRegionCount = 168;     // u32
inline constexpr size_t kRegionEntrySize = 172;   // u32
inline constexpr size_t kRegionTableSum = 176;    // u64
inline constexpr size_t kChecksum = 4088;       // u64, XXH3-64 of bytes [0, 4088)

inline constexpr size_t kArchLen = 16;
inline constexpr size_t kVmmVersionLen = 32;
inline constexpr size_t kCpuVendorLen = 16;
}  // namespace hdr

// ------------------------------------------------------------ table layouts
namespace sec {
inline constexpr size_t kKind = 0;          // char[64]
inline constexpr size_t kInstance = 64;     // char[64]
inline constexpr size_t kVersion = 128;     // u32
inline constexpr size_t kMinVersion = 132;  // u32
inline constexpr size_t kFlags = 136;       // u32
inline constexpr size_t kOffset = 144;      // u64
inline constexpr size_t kLength = 152;      // u64
inline constexpr size_t kChecksum = 160;    // u64
inline constexpr size_t kEntrySize = 176;
inline constexpr size_t kNameLen = 64;
}  // namespace sec

namespace reg {
inline constexpr size_t kGpa = 0;          // u64
inline constexpr size_t kSize = 8;         // u64
inline constexpr size_t kEncoding = 16;    // u32
inline constexpr size_t kChunkSize = 20;   // u32
inline constexpr size_t kOffset = 24;      // u64
inline constexpr size_t kLength = 32;      // u64
inline constexpr size_t kChecksum = 40;    // u64
inline constexpr size_t kChunkCount = 48;  // u64
inline constexpr size_t kEntrySize = 64;
}  // namespace reg

namespace chunk {
inline constexpr size_t kGuestOffset = 0;  // u64, from the region's start
inline constexpr size_t kRawLength = 8;    // u32
inline constexpr size_t kCompressed = 12;  // u32
inline constexpr size_t kChecksum = 16;    // u64, XXH3-64 of the compressed bytes
inline constexpr size_t kHeaderSize = 24;
}  // namespace chunk

// Table entries may grow in a later minor version; a reader steps by the
// recorded entry size but refuses anything beyond this (a hostile stride).
inline constexpr uint32_t kMaxEntrySize = 1024;

// Guest bytes per lz4 chunk as written by this vmm; a reader accepts any
// chunk size up to kMaxChunkSize, which bounds its decompression buffer.
inline constexpr uint32_t kLz4ChunkSize = 1u << 20;
inline constexpr uint32_t kMaxChunkSize = 16u << 20;

inline constexpr uint32_t kSectionMandatory = 1u << 0;

// ------------------------------------------------------------ descriptions
enum class Encoding : uint32_t { kRaw = 0, kLz4 = 1 };
const char* encoding_name(Encoding e);

// The CPU the snapshot was taken on, as the machine describes it: restore
// compares it with the host before loading vCPU state.
struct CpuModel {
  std::string vendor;  // CPUID leaf 0 vendor, e.g. "GenuineIntel"; ≤ 16 bytes
  uint32_t family = 0;
  uint32_t model = 0;
  uint32_t stepping = 0;
  uint64_t cpuid_hash = 0;  // a hash of the guest's CPUID entries
};

// What the caller supplies to SnapshotWriter::create. The architecture, the
// page size and the creation time are filled in by the writer.
struct HeaderInfo {
  std::string vmm_version;  // ≤ 32 printable bytes
  CpuModel cpu;
  uint64_t tsc_khz = 0;
};

// A header as read back.
struct Header {
  uint16_t major = 0;
  uint16_t minor = 0;
  std::string arch;
  uint32_t page_size = 0;
  int64_t creation_time = 0;  // UTC seconds since the epoch
  HeaderInfo info;
  uint64_t file_size = 0;
};

// One section's table entry (its payload is read separately).
struct SectionInfo {
  std::string kind;      // "vcpu", "uart-16550", "machine"
  std::string instance;  // "cpu0", "uart0"
  uint32_t version = 0;
  uint32_t min_version = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t checksum = 0;
  bool mandatory() const { return (flags & kSectionMandatory) != 0; }
};

// One memory region's table entry.
struct RegionInfo {
  uint64_t gpa = 0;
  uint64_t size = 0;  // guest bytes
  Encoding encoding = Encoding::kRaw;
  uint32_t chunk_size = 0;  // lz4 only
  uint64_t offset = 0;      // where its bytes start in the file
  uint64_t length = 0;      // bytes it spans in the file (raw: == size, mostly holes)
  uint64_t checksum = 0;    // XXH3-64 of the region's size guest bytes
  uint64_t chunk_count = 0;  // lz4 only
};

// What a reader accepts before it allocates anything.
struct Limits {
  uint32_t max_sections = 4096;
  uint32_t max_regions = 1024;
  uint64_t max_payload = 64u << 20;
  uint64_t max_region_size = uint64_t{1} << 40;  // 1 TiB of guest memory
};

// Where a printable name lives in the format: kind and instance strings are
// 1..64 bytes of ASCII 0x21..0x7e, so inspect's columns stay unambiguous.
bool valid_name(const std::string& s, size_t max_len);

}  // namespace vmm::snap
