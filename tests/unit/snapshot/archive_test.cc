// Saver / Loader / SchemaDumper over one visit function (snapshot/archive.h):
// round trips of every field kind, hostile input, and the schema text.
#include "snapshot/archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/unit/snapshot/archive_test_types.h"

namespace vmm::snap {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace testing_types;  // NOLINT: test-local types

TEST(ArchiveTest, RoundTripsEveryFieldKind) {
  Everything in = sample();
  Bytes bytes = save(in);
  Everything out;
  auto r = load(bytes, out);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(out, in);
  EXPECT_EQ(save(out), bytes);  // canonical
}

TEST(ArchiveTest, EncodingIsLittleEndianFixedWidth) {
  Inner inner{0x1234, true};
  EXPECT_EQ(save(inner), Bytes({0x34, 0x12, 0x01}));
  EXPECT_EQ(save(Strs{}), Bytes({2, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 0x02, 0x01}));
  Everything e = sample();
  Bytes bytes = save(e);
  // Signed values are two's complement of their width: i8 -2 is one 0xfe.
  EXPECT_EQ(bytes[15], 0xfe);
}

TEST(ArchiveTest, EmptyContainersRoundTrip) {
  Everything in = sample();
  in.bytes.clear();
  in.name.clear();
  in.words.clear();
  in.items.clear();
  Everything out = sample();
  ASSERT_TRUE(load(save(in), out).ok());
  EXPECT_EQ(out, in);
}

TEST(ArchiveTest, AbsentSubsectionKeepsDefault) {
  Everything in = sample();
  in.has_extra = false;
  Bytes bytes = save(in);
  EXPECT_EQ(bytes.size() + 1 + 5 + 4 + 4, save(sample()).size());
  Everything out;
  out.extra = 1234;  // the default a newer field would have
  ASSERT_TRUE(load(bytes, out).ok());
  EXPECT_FALSE(out.has_extra);
  EXPECT_EQ(out.extra, 1234u);
}

TEST(ArchiveTest, UnknownSubsectionRejected) {
  Everything in = sample();
  in.has_extra = false;
  Bytes bytes = save(in);
  const std::string name = "bogus";
  bytes.push_back(static_cast<uint8_t>(name.size()));
  bytes.insert(bytes.end(), name.begin(), name.end());
  bytes.insert(bytes.end(), {1, 0, 0, 0, 0x42});
  Everything out;
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kBadSnapshot);
  EXPECT_THAT(r.error().message(), HasSubstr("unknown subsection 'bogus'"));
}

TEST(ArchiveTest, UnknownSubsectionAfterKnownOneRejected) {
  Bytes bytes = save(sample());
  bytes.insert(bytes.end(), {3, 'n', 'e', 'w', 0, 0, 0, 0});
  Everything out;
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("unknown subsection 'new'"));
}

TEST(ArchiveTest, SubsectionLengthMustMatchItsBody) {
  Bytes good = save(sample());
  size_t len_at = good.size() - 8;  // u32 length, then the u32 payload
  Bytes longer = good;
  longer[len_at] = 5;
  longer.push_back(0);
  Everything out;
  auto r = load(longer, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("field extra: subsection has trailing bytes"));
  Bytes past = good;
  past[len_at] = 9;
  r = load(past, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("subsection length past the end"));
}

// A struct without subsections: every strict prefix must fail, naming the
// field it stopped in.
TEST(ArchiveTest, EveryStrictPrefixRejectedWithFieldPath) {
  Everything in = sample();
  in.has_extra = false;
  Bytes bytes = save(in);
  for (size_t n = 0; n < bytes.size(); ++n) {
    SCOPED_TRACE(n);
    Bytes prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    Everything out;
    auto r = load(prefix, out);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kBadSnapshot);
    EXPECT_THAT(r.error().message(), StartsWith("field "));
  }
  Everything out;
  auto at = [&](size_t n) {
    return load(Bytes(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n)), out).error().message();
  };
  EXPECT_THAT(at(0), StartsWith("field u8: truncated (1 bytes needed, 0 left)"));
  EXPECT_THAT(at(2), StartsWith("field u16: truncated"));
  // u8..i64 take 30 bytes, flag..wide 6, arr 3; inners[0] is a, b.
  EXPECT_THAT(at(39), StartsWith("field inners.a: truncated"));
  EXPECT_THAT(at(44), StartsWith("field inners.b: truncated"));
  EXPECT_THAT(at(47), StartsWith("field nested.b: truncated"));
  EXPECT_THAT(at(52), StartsWith("field bytes: count 3 past the end"));
}

// With an optional subsection last, the cut that removes exactly the whole
// subsection is indistinguishable from "absent" at this layer (see report:
// the section length and checksum of the snapshot file must catch it).
TEST(ArchiveTest, PrefixesOfStateWithSubsectionRejectedExceptAtItsStart) {
  Bytes with = save(sample());
  Everything no_extra = sample();
  no_extra.has_extra = false;
  size_t boundary = save(no_extra).size();
  for (size_t n = 0; n < with.size(); ++n) {
    SCOPED_TRACE(n);
    Everything out;
    auto r = load(Bytes(with.begin(), with.begin() + static_cast<ptrdiff_t>(n)), out);
    EXPECT_EQ(r.ok(), n == boundary);
  }
}

TEST(ArchiveTest, BoolByteOfTwoRejected) {
  Bytes bytes = save(Inner{1, true});
  bytes[2] = 2;
  Inner out;
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field b: bool is 2");
  bytes[2] = 0xff;
  EXPECT_FALSE(load(bytes, out).ok());
}

TEST(ArchiveTest, ExtraByteRejected) {
  Bytes bytes = save(Inner{1, true});
  bytes.push_back(0);
  Inner out;
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), HasSubstr("1 trailing bytes"));
}


TEST(ArchiveTest, CountsOverTheLimitRejectedBeforeAllocation) {
  Bytes bytes = {4, 0, 0, 0, 1, 2, 3, 4};  // four elements, limit three
  Holder h;
  Counted::constructed = 0;
  auto r = load(bytes, h);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field items: count 4 exceeds limit 3");
  EXPECT_EQ(Counted::constructed, 0);
  EXPECT_EQ(h.items.capacity(), 0u);
}

TEST(ArchiveTest, HugeCountWithinLimitButPastTheEndRejectedBeforeAllocation) {
  Blob b;
  auto r = load(Bytes{0xff, 0xff, 0xff, 0xff, 0}, b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field data: count 4294967295 past the end of the section");
  EXPECT_EQ(b.data.capacity(), 0u);
  r = load(Bytes{0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}, b);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), StartsWith("field text: count 2147483647 past the end"));
  EXPECT_LT(b.text.capacity(), 64u);
}

TEST(ArchiveTest, StringAndBytesLimits) {
  Everything e = sample();
  e.name = std::string(16, 'x');  // exactly the limit
  Bytes bytes = save(e);
  // Forge a 17-byte name: the count, then one more byte.
  Bytes sixteen = {16, 0, 0, 0};
  for (int i = 0; i < 16; ++i) sixteen.push_back('x');
  auto at = std::search(bytes.begin(), bytes.end(), sixteen.begin(), sixteen.end());
  ASSERT_NE(at, bytes.end());
  *at = 17;
  bytes.insert(at + 4, 'x');
  Everything out;
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field name: count 17 exceeds limit 16");
}

TEST(ArchiveDeathTest, SaverRefusesToWritePastALimit) {
  Everything e = sample();
  e.name = std::string(17, 'x');  // limit 16: a device bug, not guest input
  EXPECT_DEATH(save(e), "check failed");
}

TEST(ArchiveTest, FirstFailureWinsAndLaterReadsAreNoOps) {
  Bytes bytes = save(Inner{0x0102, true});
  bytes.resize(1);
  Inner out{0x7777, true};
  auto r = load(bytes, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message(), StartsWith("field a:"));
  EXPECT_TRUE(out.b);  // untouched after the failure
}

TEST(ArchiveTest, RejectNamesTheField) {
  Checked c;
  auto r = load(Bytes{9}, c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "field index: past the queue");
}

TEST(ArchiveTest, VersionSelectsFields) {
  Versioned v1;
  ASSERT_TRUE(load(Bytes{5}, v1, 1).ok());
  EXPECT_EQ(v1.a, 5);
  EXPECT_EQ(v1.b, 0xeeee);
  Versioned v2;
  ASSERT_TRUE(load(Bytes{5, 1, 2}, v2, 2).ok());
  EXPECT_EQ(v2.b, 0x0201);
  EXPECT_FALSE(load(Bytes{5}, v2, 2).ok());
}

TEST(ArchiveTest, SchemaDumpText) {
  SchemaDumper dumper(1);
  Everything e;
  e.visit(dumper, 1);
  EXPECT_EQ(dumper.text(),
            "u8: u8\n"
            "u16: u16\n"
            "u32: u32\n"
            "u64: u64\n"
            "i8: i8\n"
            "i16: i16\n"
            "i32: i32\n"
            "i64: i64\n"
            "flag: bool\n"
            "color: enum u8\n"
            "wide: enum i32\n"
            "arr: u8[3]\n"
            "inners: struct[2]\n"
            "inners.a: u16\n"
            "inners.b: bool\n"
            "nested: struct\n"
            "nested.a: u16\n"
            "nested.b: bool\n"
            "bytes: bytes(max 8)\n"
            "name: string(max 16)\n"
            "words: vec(max 4) of u32\n"
            "items: vec(max 3) of struct\n"
            "items.a: u16\n"
            "items.b: bool\n"
            "extra: subsection\n"
            "extra.extra: u32\n");
}

}  // namespace
}  // namespace vmm::snap
