#include "hypervisor/qmp/json_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmm::qmp {
namespace {

std::vector<std::string> split(JsonSplitter& s, std::string_view bytes) {
  std::vector<std::string> out;
  EXPECT_EQ(s.feed(bytes, out), JsonSplitter::Status::kOk);
  return out;
}

TEST(JsonSplitter, SeveralObjectsInOneFeed) {
  JsonSplitter s;
  auto out = split(s, "{\"a\": 1}{\"b\": [2]}\n {\"c\": {}}\n");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], "{\"a\": 1}");
  EXPECT_EQ(out[1], "{\"b\": [2]}");
  EXPECT_EQ(out[2], "{\"c\": {}}");
}

TEST(JsonSplitter, ObjectSplitAcrossFeedsAndLines) {
  JsonSplitter s;
  EXPECT_TRUE(split(s, "{\"exe").empty());
  EXPECT_TRUE(split(s, "cute\":\n").empty());
  EXPECT_GT(s.pending(), 0u);
  auto out = split(s, " \"stop\"}");
  ASSERT_EQ(out.size(), 1u);
  // Whitespace between tokens is kept (as a space), never joined away.
  EXPECT_EQ(out[0], "{\"execute\":  \"stop\"}");
  EXPECT_EQ(s.pending(), 0u);
}

TEST(JsonSplitter, BracesInsideStringsDoNotCount) {
  JsonSplitter s;
  auto out = split(s, R"({"id": "}{[\"]"})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], R"({"id": "}{[\"]"})");
}

TEST(JsonSplitter, SingleQuotedStringsBecomeStandardJson) {
  JsonSplitter s;
  auto out = split(s, R"({'execute': 'a"b\'c'})");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], R"({"execute": "a\"b'c"})");
}

TEST(JsonSplitter, TopLevelScalarsEndAtWhitespace) {
  JsonSplitter s;
  EXPECT_TRUE(split(s, "42").empty());
  auto out = split(s, "\n\"str\" null{}");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], "42");
  EXPECT_EQ(out[1], "\"str\"");
  EXPECT_EQ(out[2], "null");
  EXPECT_EQ(out[3], "{}");
}

TEST(JsonSplitter, StrayCloserIsDelimitedForTheParserToReject) {
  JsonSplitter s;
  auto out = split(s, "{}}\n");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], "}");
}

TEST(JsonSplitter, ControlCharacterDiscardsThePartialRequest) {
  JsonSplitter s;
  EXPECT_TRUE(split(s, "{\"execute\": [1, ").empty());
  EXPECT_TRUE(split(s, "\x04").empty());
  EXPECT_EQ(s.pending(), 0u);
  auto out = split(s, "{}");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "{}");
}

TEST(JsonSplitter, RawNewlineInAStringEndsTheRequestForAnError) {
  JsonSplitter s;
  auto out = split(s, "{\"execute\": \"sto\n");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(s.pending(), 0u);
}

TEST(JsonSplitter, OversizedRequestIsReported) {
  JsonSplitter s(64);
  std::vector<std::string> out;
  EXPECT_EQ(s.feed("{\"a\": \"" + std::string(100, 'x'), out), JsonSplitter::Status::kTooLarge);
}

TEST(JsonSplitter, AbsurdNestingIsReported) {
  JsonSplitter s;
  std::vector<std::string> out;
  EXPECT_EQ(s.feed(std::string(JsonSplitter::kMaxDepth + 1, '['), out), JsonSplitter::Status::kTooDeep);
}

}  // namespace
}  // namespace vmm::qmp
