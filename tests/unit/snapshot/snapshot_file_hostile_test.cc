// Snapshot files as hostile input: truncation, flipped bits everywhere,
// forged headers and tables (with valid checksums, so the bounds checks are
// what must catch them). Every case is a clean error naming what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "snapshot_file_test_support.h"

namespace vmm::snap::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class SnapshotHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_sample(good_, Sample{}).ok());
    original_ = read_file(good_);
    auto r = SnapshotReader::open(good_);
    ASSERT_TRUE(r.ok()) << r.error().message();
    sections_ = r->sections();
    regions_ = r->regions();
    index_ = r->index();
    ASSERT_EQ(exercise(good_), "");
  }

  // Writes `f` as the bad file and returns open()'s error (or fails the test).
  Error open_error(const Bytes& f) {
    write_file(bad_, f);
    auto r = SnapshotReader::open(bad_);
    EXPECT_FALSE(r.ok()) << "a bad file opened";
    if (r.ok()) return Error::make(Errc::kInvalidArgument, "opened");
    EXPECT_THAT(r.error().message(), StartsWith("snapshot " + bad_ + ": "));
    return std::move(r).error();
  }
  // Runs fn with one byte of bad_ (a copy of the good file) flipped in place.
  template <class Fn>
  void with_flipped(uint64_t at, uint8_t mask, Fn&& fn) {
    int fd = ::open(bad_.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    uint8_t b = static_cast<uint8_t>(original_[at] ^ mask);
    ASSERT_EQ(::pwrite(fd, &b, 1, static_cast<off_t>(at)), 1);
    fn();
    ASSERT_EQ(::pwrite(fd, &original_[at], 1, static_cast<off_t>(at)), 1);
    ::close(fd);
  }
  // Forges one field, reseals the checksums and returns open()'s error.
  Error forged(size_t at, uint64_t value, size_t width) {
    Bytes f = original_;
    codec::put_le(f, at, value, width);
    reseal(f);
    return open_error(f);
  }

  TempDir dir_;
  std::string good_ = dir_.file("good.snap");
  std::string bad_ = dir_.file("bad.snap");
  Bytes original_;
  std::vector<SectionInfo> sections_;
  std::vector<RegionInfo> regions_;
  codec::TableIndex index_;
};

TEST_F(SnapshotHostile, EveryTenPercentPrefixFails) {
  for (int tenth = 0; tenth < 10; ++tenth) {
    Bytes f(original_.begin(), original_.begin() + static_cast<long>(original_.size() * tenth / 10));
    Error e = open_error(f);
    EXPECT_EQ(e.code(), Errc::kBadSnapshot) << tenth << "0%: " << e.message();
  }
  Bytes tiny(original_.begin(), original_.begin() + 100);
  EXPECT_THAT(open_error(tiny).message(), HasSubstr("too short for the 4096-byte header"));
  Bytes most(original_.begin(), original_.end() - 1);
  EXPECT_THAT(open_error(most).message(), HasSubstr("(truncated)"));
}

TEST_F(SnapshotHostile, EveryHeaderByteIsProtected) {
  write_file(bad_, original_);
  for (size_t i = 0; i < kHeaderSize; ++i) {
    with_flipped(i, static_cast<uint8_t>(1u << (i % 8)), [&] {
      auto r = SnapshotReader::open(bad_);
      ASSERT_FALSE(r.ok()) << "header byte " << i << " flipped and the file still opened";
    });
  }
}

TEST_F(SnapshotHostile, EveryTableByteIsProtected) {
  write_file(bad_, original_);
  auto flip_range = [&](uint64_t off, uint64_t len, const std::string& what) {
    for (uint64_t i = off; i < off + len; ++i) {
      with_flipped(i, static_cast<uint8_t>(0x80u >> (i % 8)), [&] {
        auto r = SnapshotReader::open(bad_);
        ASSERT_FALSE(r.ok()) << what << " table byte " << i - off;
        EXPECT_THAT(r.error().message(), HasSubstr(what + " table: checksum mismatch"));
      });
    }
  };
  flip_range(index_.section_offset, sections_.size() * sec::kEntrySize, "section");
  flip_range(index_.region_offset, regions_.size() * reg::kEntrySize, "region");
}

TEST_F(SnapshotHostile, FlippedPayloadBitFailsThatSection) {
  for (const auto& s : sections_) {
    if (s.length == 0) continue;
    Bytes f = original_;
    f[s.offset + s.length / 2] ^= 0x10;
    write_file(bad_, f);
    auto r = SnapshotReader::open(bad_);
    ASSERT_TRUE(r.ok()) << "payloads are checked when taken, not at open";
    auto t = r->take(s.kind, s.instance);
    ASSERT_FALSE(t.ok());
    EXPECT_THAT(t.error().message(), StartsWith("snapshot " + bad_ + ": section " + s.instance + " (" + s.kind +
                                                "): checksum mismatch"));
    EXPECT_EQ(r->unconsumed().size(), sections_.size()) << "a bad section is not consumed";
  }
}

TEST_F(SnapshotHostile, FlippedMemoryBitFailsThatRegion) {
  // Raw: a data page (offset 4096 of the sample holds noise).
  Bytes f = original_;
  f[regions_[0].offset + 4096 + 17] ^= 1;
  write_file(bad_, f);
  auto r = SnapshotReader::open(bad_);
  ASSERT_TRUE(r.ok());
  auto v = r->verify_region(0);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.error().message(), HasSubstr("region 0: checksum mismatch"));
  Bytes dest(regions_[0].size);
  EXPECT_FALSE(r->read_region(0, dest).ok());

  // Lz4: every byte of both chunk headers and a spread of compressed bytes.
  const uint64_t c0 = regions_[1].offset;
  const uint64_t c1 = c0 + chunk::kHeaderSize + codec::get_le(original_, c0 + chunk::kCompressed, 4);
  write_file(bad_, original_);
  for (uint64_t i = 0; i < regions_[1].length; ++i) {
    uint64_t at = regions_[1].offset + i;
    bool in_header = at - c0 < chunk::kHeaderSize || (at >= c1 && at - c1 < chunk::kHeaderSize);
    if (!in_header && i % 61 != 0) continue;
    with_flipped(at, static_cast<uint8_t>(1u << (i % 8)), [&] {
      auto rr = SnapshotReader::open(bad_);
      ASSERT_TRUE(rr.ok());
      Bytes out(regions_[1].size);
      auto read = rr->read_region(1, out);
      ASSERT_FALSE(read.ok()) << "lz4 byte " << i;
      EXPECT_THAT(read.error().message(), HasSubstr("region 1: chunk"));
      EXPECT_FALSE(rr->verify_region(1).ok());
    });
  }
}

TEST_F(SnapshotHostile, BadMagicAndVersions) {
  Bytes f = original_;
  f[0] = 'X';
  EXPECT_THAT(open_error(f).message(), HasSubstr("bad magic: not a vmm snapshot"));
  EXPECT_THAT(open_error(Bytes{}).message(), HasSubstr("bad magic"));

  Error future = forged(hdr::kMajor, 2, 2);
  EXPECT_EQ(future.code(), Errc::kVersionUnsupported);
  EXPECT_EQ(future.message(), "snapshot " + bad_ + ": snapshot format 2.0 is newer than this vmm (1.x)");
  EXPECT_THAT(forged(hdr::kMajor, 0, 2).message(), HasSubstr("format 0.0 is unknown"));

  // A later minor version opens: it may only add what 1.0 readers can skip.
  Bytes minor = original_;
  codec::put_le(minor, hdr::kMinor, 7, 2);
  reseal(minor);
  write_file(bad_, minor);
  auto r = SnapshotReader::open(bad_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->header().minor, 7);
}

TEST_F(SnapshotHostile, ForgedHeaderFields) {
  EXPECT_THAT(forged(hdr::kArch, 'a', 1).message(),
              HasSubstr("header: architecture a86_64 cannot run on this x86_64 host"));
  EXPECT_THAT(forged(hdr::kPageSize, 16384, 4).message(), HasSubstr("page size 16384"));
  EXPECT_THAT(forged(hdr::kHeaderSize, 8192, 4).message(), HasSubstr("header size 8192"));
  EXPECT_THAT(forged(hdr::kVmmVersion + 2, 0x07, 1).message(), HasSubstr("VMM version has a non-printable byte"));
  EXPECT_THAT(forged(hdr::kCpuVendor + 13, 'x', 1).message(), HasSubstr("CPU vendor is not NUL-padded"));
  EXPECT_THAT(forged(hdr::kFileSize, original_.size() - 8, 8).message(), HasSubstr("(trailing data)"));
  EXPECT_THAT(forged(hdr::kFileSize, ~uint64_t{0}, 8).message(), HasSubstr("(truncated)"));
}

TEST_F(SnapshotHostile, AbsurdCountsAndSizes) {
  EXPECT_THAT(forged(hdr::kSectionCount, 0xffffffff, 4).message(),
              HasSubstr("header: section count 4294967295 exceeds the limit 4096"));
  EXPECT_THAT(forged(hdr::kRegionCount, 1025, 4).message(), HasSubstr("region count 1025 exceeds the limit 1024"));
  EXPECT_THAT(forged(hdr::kSectionEntrySize, 0xffffffff, 4).message(), HasSubstr("section entry size"));
  EXPECT_THAT(forged(hdr::kRegionEntrySize, 8, 4).message(), HasSubstr("region entry size 8 is out of range"));
  EXPECT_THAT(forged(hdr::kSectionCount, 4000, 4).message(), HasSubstr("section table at"));
  EXPECT_THAT(forged(hdr::kRegionTable, ~uint64_t{0} - 10, 8).message(), HasSubstr("runs past the end of the file"));
  EXPECT_THAT(forged(hdr::kSectionTable, 0, 8).message(), HasSubstr("section table at 0x0"));
}

TEST_F(SnapshotHostile, ForgedSectionEntries) {
  const uint64_t e0 = index_.section_offset;            // vcpu cpu0
  const uint64_t e1 = e0 + sec::kEntrySize;             // uart-16550 uart0
  EXPECT_EQ(forged(e1 + sec::kLength, uint64_t{1} << 40, 8).message(),
            "snapshot " + bad_ + ": section uart0 (uart-16550): payload length 0x10000000000 exceeds the limit "
                                  "0x4000000");
  EXPECT_THAT(forged(e1 + sec::kLength, original_.size(), 8).message(),
              HasSubstr("section uart0 (uart-16550): payload at"));
  EXPECT_THAT(forged(e1 + sec::kLength, original_.size(), 8).message(), HasSubstr("runs past the end of the file"));
  EXPECT_THAT(forged(e1 + sec::kOffset, ~uint64_t{0} - 3, 8).message(), HasSubstr("runs past the end"));
  EXPECT_THAT(forged(e1 + sec::kOffset, 16, 8).message(), HasSubstr("payload at 0x10"));
  EXPECT_THAT(forged(e0 + sec::kMinVersion, 9, 4).message(),
              HasSubstr("section cpu0 (vcpu): minimum version 9 is above the version 3"));
  EXPECT_THAT(forged(e0 + sec::kKind, 0, 1).message(), HasSubstr("section 0: kind is not NUL-padded"));
  EXPECT_THAT(forged(e0 + sec::kKind, 0, 4).message(), HasSubstr("section 0: kind is empty"));
  EXPECT_THAT(forged(e0 + sec::kKind + 1, ' ', 1).message(), HasSubstr("section 0: kind is empty or has spaces"));
  EXPECT_THAT(forged(e0 + sec::kInstance + 60, 1, 1).message(), HasSubstr("instance id is not NUL-padded"));
  // Duplicate: make entry 1 a second "vcpu cpu0".
  Bytes f = original_;
  std::copy_n(original_.begin() + static_cast<long>(e0), 128, f.begin() + static_cast<long>(e1));
  reseal(f);
  EXPECT_THAT(open_error(f).message(), HasSubstr("section cpu0 (vcpu): appears twice"));
}

TEST_F(SnapshotHostile, ForgedRegionEntries) {
  const uint64_t e0 = index_.region_offset;  // raw
  const uint64_t e1 = e0 + reg::kEntrySize;  // lz4
  Error past = forged(e1 + reg::kLength, original_.size(), 8);
  EXPECT_THAT(past.message(), HasSubstr("region 1: length 0x"));
  EXPECT_THAT(past.message(), HasSubstr(" runs past the end of the file (size 0x"));
  EXPECT_THAT(forged(e0 + reg::kOffset, original_.size() + 4096, 8).message(), HasSubstr("region 0: offset"));
  EXPECT_THAT(forged(e0 + reg::kOffset, regions_[0].offset + 8, 8).message(), HasSubstr("not page aligned"));
  EXPECT_THAT(forged(e0 + reg::kSize, regions_[0].size + 4096, 8).message(), HasSubstr("raw length"));
  EXPECT_THAT(forged(e0 + reg::kSize, 100, 8).message(), HasSubstr("region 0: gpa 0x0 size 0x64"));
  EXPECT_THAT(forged(e0 + reg::kEncoding, 9, 4).message(), HasSubstr("region 0: encoding 9 is unknown"));
  EXPECT_THAT(forged(e1 + reg::kGpa, ~uint64_t{0} - 4095, 8).message(), HasSubstr("wraps"));
  EXPECT_THAT(forged(e1 + reg::kGpa, 4096, 8).message(), HasSubstr("region 1: gpa 0x1000 size"));
  EXPECT_THAT(forged(e1 + reg::kGpa, 4096, 8).message(), HasSubstr("overlaps region 0"));
  EXPECT_THAT(forged(e1 + reg::kSize, uint64_t{1} << 50, 8).message(), HasSubstr("exceeds the limit"));
  EXPECT_THAT(forged(e1 + reg::kChunkSize, 0, 4).message(), HasSubstr("chunk size 0x0 is out of range"));
  EXPECT_THAT(forged(e1 + reg::kChunkSize, 1u << 30, 4).message(), HasSubstr("out of range"));
  EXPECT_THAT(forged(e1 + reg::kChunkCount, ~uint64_t{0}, 8).message(), HasSubstr("chunk count"));
}

TEST_F(SnapshotHostile, ForgedChunkHeadersFailTheRead) {
  // The lz4 region's first chunk header; resealed region tables do not help
  // here, the chunk header has no checksum of its own beyond the region's.
  const uint64_t c0 = regions_[1].offset;
  auto read_error = [&](size_t field, uint64_t value, size_t width) {
    Bytes f = original_;
    codec::put_le(f, c0 + field, value, width);
    write_file(bad_, f);
    auto r = SnapshotReader::open(bad_);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return std::string();
    Bytes out(regions_[1].size);
    auto read = r->read_region(1, out);
    EXPECT_FALSE(read.ok());
    return read.ok() ? std::string() : read.error().message();
  };
  EXPECT_THAT(read_error(chunk::kGuestOffset, 4096, 8), HasSubstr("region 1: chunk 0: guest offset 0x1000"));
  EXPECT_THAT(read_error(chunk::kGuestOffset, ~uint64_t{0}, 8), HasSubstr("chunk 0: guest offset"));
  EXPECT_THAT(read_error(chunk::kRawLength, 0xffffffff, 4), HasSubstr("chunk 0: raw length"));
  EXPECT_THAT(read_error(chunk::kCompressed, 0xffffffff, 4), HasSubstr("chunk 0: compressed length"));
  EXPECT_THAT(read_error(chunk::kCompressed, 0, 4), HasSubstr("chunk 0: compressed length 0x0"));
  EXPECT_THAT(read_error(chunk::kChecksum, 0, 8), HasSubstr("chunk 0: checksum mismatch"));
}

TEST_F(SnapshotHostile, NotAFile) {
  auto r = SnapshotReader::open(dir_.path());
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("not a regular file"));
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0600), 0);
  auto fifo = SnapshotReader::open(dir_.file("fifo"));
  ASSERT_FALSE(fifo.ok());
  EXPECT_THAT(fifo.error().message(), HasSubstr("not a regular file"));
  auto missing = SnapshotReader::open(dir_.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "snapshot " + dir_.file("nope") + ": open: No such file or directory");
}

}  // namespace
}  // namespace vmm::snap::testing
