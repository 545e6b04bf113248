// SnapshotReader: opening, the header, the tables and the sections. Memory
// regions are read in snapshot_reader_memory.cc.
#include "snapshot/snapshot_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <set>
#include <utility>

#include "snapshot/file_io.h"

namespace vmm::snap {
namespace {

#if defined(__x86_64__)
constexpr const char* kHostArch = "x86_64";
#elif defined(__aarch64__)
constexpr const char* kHostArch = "aarch64";
#else
constexpr const char* kHostArch = "unknown";
#endif

using io::hex;

// Why [offset, offset+length) does not lie inside the file after the header
// (computed without overflow), or "" when it does.
std::string outside(uint64_t offset, uint64_t length, uint64_t file_size) {
  if (offset < kHeaderSize) return "overlaps the header";
  if (offset > file_size || length > file_size - offset) {
    return fmt::format("runs past the end of the file (size {})", hex(file_size));
  }
  return "";
}

}  // namespace

Result<void> SectionView::check_version(uint32_t oldest, uint32_t newest) const {
  std::string name = fmt::format("section {} ({})", instance, kind);
  if (version < oldest) {
    return Error::make(Errc::kVersionUnsupported,
                       fmt::format("{}: state version {} is older than this vmm reads ({}..{})", name, version,
                                   oldest, newest));
  }
  if (version > newest && min_version > newest) {
    return Error::make(Errc::kVersionUnsupported,
                       fmt::format("{}: state version {} (readable from version {}) is newer than this vmm reads "
                                   "({}..{})",
                                   name, version, min_version, oldest, newest));
  }
  return {};
}

Error SnapshotReader::bad(const std::string& what) const {
  return Error::make(Errc::kBadSnapshot, "snapshot " + path_ + ": " + what);
}

std::string SnapshotReader::section_name(size_t i) const {
  return fmt::format("section {} ({})", sections_[i].instance, sections_[i].kind);
}

std::string SnapshotReader::region_name(size_t i) const { return fmt::format("region {}", i); }

Result<SnapshotReader> SnapshotReader::open(const std::string& path, const Limits& limits) {
  SnapshotReader r;
  r.path_ = path;
  r.limits_ = limits;
  // O_NONBLOCK: a FIFO in place of the file must fail below, not hang here.
  r.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!r.fd_.valid()) return Error::sys(errno, "snapshot " + path + ": open");
  struct stat st {};
  if (::fstat(r.fd_.get(), &st) != 0) return Error::sys(errno, "snapshot " + path + ": stat");
  if (!S_ISREG(st.st_mode)) return r.bad("not a regular file");
  VMM_TRY(r.load_header(static_cast<uint64_t>(st.st_size)));
  VMM_TRY(r.load_sections());
  VMM_TRY(r.load_regions());
  return r;
}

Result<void> SnapshotReader::load_header(uint64_t actual_size) {
  std::array<uint8_t, kHeaderSize> page{};
  size_t have = static_cast<size_t>(std::min<uint64_t>(actual_size, kHeaderSize));
  VMM_TRY(io::pread_all(fd_.get(), std::span(page).first(have), 0, "snapshot " + path_ + ": read the header"));
  if (have < sizeof kMagic || std::memcmp(page.data(), kMagic, sizeof kMagic) != 0) {
    return bad("bad magic: not a vmm snapshot");
  }
  if (have < kHeaderSize) {
    return bad(fmt::format("the file is {} bytes, too short for the {}-byte header (truncated)", have, kHeaderSize));
  }
  std::span<const uint8_t> b(page);
  // The major version comes before the checksum: a later format may lay out
  // (and checksum) its header differently, and deserves the clearer message.
  header_.major = static_cast<uint16_t>(codec::get_le(b, hdr::kMajor, 2));
  header_.minor = static_cast<uint16_t>(codec::get_le(b, hdr::kMinor, 2));
  if (header_.major > kFormatMajor) {
    return Error::make(Errc::kVersionUnsupported,
                       fmt::format("snapshot {}: snapshot format {}.{} is newer than this vmm ({}.x)", path_,
                                   header_.major, header_.minor, kFormatMajor));
  }
  if (header_.major < kFormatMajor) {
    return bad(fmt::format("header: format {}.{} is unknown", header_.major, header_.minor));
  }
  uint64_t stored = codec::get_le(b, hdr::kChecksum, 8);
  uint64_t computed = codec::header_checksum(page);
  if (stored != computed) {
    return bad(fmt::format("header: checksum mismatch (stored {}, computed {})", hex(stored), hex(computed)));
  }
  // A minor version may fill reserved fields; this reader ignores them.
  if (uint64_t size = codec::get_le(b, hdr::kHeaderSize, 4); size != kHeaderSize) {
    return bad(fmt::format("header: header size {} is not {}", size, kHeaderSize));
  }
  auto text = [&](size_t off, size_t len, const char* field) {
    return codec::get_str(b, off, len, field).context("snapshot " + path_ + ": header");
  };
  header_.arch = VMM_TRY(text(hdr::kArch, hdr::kArchLen, "architecture"));
  if (header_.arch != kHostArch) {
    return Error::make(Errc::kUnsupported, fmt::format("snapshot {}: header: architecture {} cannot run on this {} host",
                                                       path_, header_.arch, kHostArch));
  }
  header_.page_size = static_cast<uint32_t>(codec::get_le(b, hdr::kPageSize, 4));
  auto host_page = static_cast<uint32_t>(::sysconf(_SC_PAGESIZE));
  if (header_.page_size != host_page) {
    return Error::make(Errc::kUnsupported, fmt::format("snapshot {}: header: page size {} differs from this host's {}",
                                                       path_, header_.page_size, host_page));
  }
  header_.creation_time = static_cast<int64_t>(codec::get_le(b, hdr::kCreationTime, 8));
  HeaderInfo& info = header_.info;
  info.tsc_khz = codec::get_le(b, hdr::kTscKhz, 8);
  info.vmm_version = VMM_TRY(text(hdr::kVmmVersion, hdr::kVmmVersionLen, "VMM version"));
  info.cpu.vendor = VMM_TRY(text(hdr::kCpuVendor, hdr::kCpuVendorLen, "CPU vendor"));
  info.cpu.family = static_cast<uint32_t>(codec::get_le(b, hdr::kCpuFamily, 4));
  info.cpu.model = static_cast<uint32_t>(codec::get_le(b, hdr::kCpuModel, 4));
  info.cpu.stepping = static_cast<uint32_t>(codec::get_le(b, hdr::kCpuStepping, 4));
  info.cpu.cpuid_hash = codec::get_le(b, hdr::kCpuidHash, 8);
  header_.file_size = codec::get_le(b, hdr::kFileSize, 8);
  if (header_.file_size > actual_size) {
    return bad(fmt::format("header: file size {} but the file is {} bytes (truncated)", hex(header_.file_size),
                           hex(actual_size)));
  }
  if (header_.file_size < actual_size) {
    return bad(fmt::format("header: file size {} but the file is {} bytes (trailing data)", hex(header_.file_size),
                           hex(actual_size)));
  }
  index_.section_offset = codec::get_le(b, hdr::kSectionTable, 8);
  index_.section_count = static_cast<uint32_t>(codec::get_le(b, hdr::kSectionCount, 4));
  index_.section_entry_size = static_cast<uint32_t>(codec::get_le(b, hdr::kSectionEntrySize, 4));
  index_.section_checksum = codec::get_le(b, hdr::kSectionTableSum, 8);
  index_.region_offset = codec::get_le(b, hdr::kRegionTable, 8);
  index_.region_count = static_cast<uint32_t>(codec::get_le(b, hdr::kRegionCount, 4));
  index_.region_entry_size = static_cast<uint32_t>(codec::get_le(b, hdr::kRegionEntrySize, 4));
  index_.region_checksum = codec::get_le(b, hdr::kRegionTableSum, 8);
  if (index_.section_count > limits_.max_sections) {
    return bad(fmt::format("header: section count {} exceeds the limit {}", index_.section_count,
                           limits_.max_sections));
  }
  if (index_.region_count > limits_.max_regions) {
    return bad(fmt::format("header: region count {} exceeds the limit {}", index_.region_count, limits_.max_regions));
  }
  return {};
}

Result<std::vector<uint8_t>> SnapshotReader::read_table(uint64_t offset, uint32_t count, uint32_t entry_size,
                                                        uint64_t checksum, const char* name) const {
  if (entry_size < (std::string_view(name) == "section" ? sec::kEntrySize : reg::kEntrySize) ||
      entry_size > kMaxEntrySize) {
    return bad(fmt::format("header: {} entry size {} is out of range", name, entry_size));
  }
  // count and entry_size are bounded above, so this cannot overflow.
  uint64_t bytes = uint64_t{count} * entry_size;
  if (auto why = outside(offset, bytes, header_.file_size); !why.empty()) {
    return bad(fmt::format("header: {} table at {} length {} {}", name, hex(offset), hex(bytes), why));
  }
  std::vector<uint8_t> table(bytes);
  VMM_TRY(io::pread_all(fd_.get(), table, offset, fmt::format("snapshot {}: read the {} table", path_, name)));
  uint64_t computed = codec::xxh3(table);
  if (computed != checksum) {
    return bad(fmt::format("{} table: checksum mismatch (stored {}, computed {})", name, hex(checksum),
                           hex(computed)));
  }
  return table;
}

Result<void> SnapshotReader::load_sections() {
  const uint32_t stride = index_.section_entry_size;
  auto table = VMM_TRY(read_table(index_.section_offset, index_.section_count, stride, index_.section_checksum,
                                  "section"));
  std::set<std::pair<std::string, std::string>> seen;
  sections_.reserve(index_.section_count);
  for (uint32_t i = 0; i < index_.section_count; ++i) {
    auto entry = std::span<const uint8_t>(table).subspan(size_t{i} * stride, stride);
    auto decoded = codec::decode_section(entry);
    if (!decoded) return bad(fmt::format("section {}: {}", i, decoded.error().message()));
    SectionInfo s = std::move(decoded).value();
    if (!valid_name(s.kind, sec::kNameLen)) return bad(fmt::format("section {}: kind is empty or has spaces", i));
    if (!valid_name(s.instance, sec::kNameLen)) {
      return bad(fmt::format("section {} ({}): instance id is empty or has spaces", i, s.kind));
    }
    sections_.push_back(s);
    std::string name = section_name(i);
    if (s.min_version > s.version) {
      return bad(fmt::format("{}: minimum version {} is above the version {}", name, s.min_version, s.version));
    }
    if (s.length > limits_.max_payload) {
      return bad(fmt::format("{}: payload length {} exceeds the limit {}", name, hex(s.length),
                             hex(limits_.max_payload)));
    }
    if (auto why = outside(s.offset, s.length, header_.file_size); !why.empty()) {
      return bad(fmt::format("{}: payload at {} length {} {}", name, hex(s.offset), hex(s.length), why));
    }
    if (!seen.emplace(s.kind, s.instance).second) return bad(name + ": appears twice");
  }
  consumed_.assign(sections_.size(), false);
  return {};
}

bool SnapshotReader::has(std::string_view kind, std::string_view instance) const {
  for (const auto& s : sections_) {
    if (s.kind == kind && s.instance == instance) return true;
  }
  return false;
}

Result<std::vector<uint8_t>> SnapshotReader::read_payload(size_t i) const {
  const SectionInfo& s = sections_[i];
  std::vector<uint8_t> payload(s.length);
  VMM_TRY(io::pread_all(fd_.get(), payload, s.offset, "snapshot " + path_ + ": read " + section_name(i)));
  uint64_t computed = codec::xxh3(payload);
  if (computed != s.checksum) {
    return bad(fmt::format("{}: checksum mismatch (stored {}, computed {})", section_name(i), hex(s.checksum),
                           hex(computed)));
  }
  return payload;
}

Result<void> SnapshotReader::verify_section(size_t i) const {
  if (i >= sections_.size()) return Error::make(Errc::kOutOfRange, fmt::format("no section {}", i));
  VMM_TRY(read_payload(i));
  return {};
}

Result<SectionView> SnapshotReader::take(std::string_view kind, std::string_view instance) {
  for (size_t i = 0; i < sections_.size(); ++i) {
    const SectionInfo& s = sections_[i];
    if (s.kind != kind || s.instance != instance) continue;
    if (consumed_[i]) return bad(section_name(i) + ": taken twice");
    SectionView view{s.kind, s.instance, s.version, s.min_version, s.flags, VMM_TRY(read_payload(i))};
    consumed_[i] = true;
    return view;
  }
  return bad(fmt::format("section {} ({}): missing", instance, kind));
}

std::vector<SectionKey> SnapshotReader::unconsumed() const {
  std::vector<SectionKey> out;
  for (size_t i = 0; i < sections_.size(); ++i) {
    if (!consumed_[i]) out.push_back({sections_[i].kind, sections_[i].instance, sections_[i].mandatory()});
  }
  return out;
}

}  // namespace vmm::snap
