// JsonSplitter: finds where one JSON text ends in a QMP input stream.
//
// QEMU frames requests by JSON structure, not by lines: a request may span
// several lines or reads, and several may share one line. We do the same
// with a tiny lexer that tracks strings and nesting, so a complete value is
// handed on as soon as its closing brace arrives. It also accepts QEMU's
// single-quoted strings (rewritten to standard JSON for the parser) and
// QEMU's recovery convention: an ASCII control character or 0xFF outside a
// string discards the partial request.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace vmm::qmp {

class JsonSplitter {
 public:
  enum class Status { kOk, kTooLarge, kTooDeep };

  // QEMU's json-streamer limits nesting to 1024 levels; deeper input is
  // hostile (it would only recurse in the parser and printer).
  static constexpr int kMaxDepth = 1024;

  explicit JsonSplitter(size_t max_message = size_t{1} << 20) : max_message_(max_message) {}

  // Consumes `bytes` and appends every JSON text completed by them to
  // `out`. Texts are not validated: a malformed one is still delimited and
  // the parser reports what is wrong with it. On kTooLarge / kTooDeep the
  // stream cannot be resynchronised; the caller should close it.
  Status feed(std::string_view bytes, std::vector<std::string>& out);

  // Bytes of the request being assembled (0 between requests).
  size_t pending() const { return current_.size(); }

 private:
  enum class Lex { kValue, kDoubleQuoted, kSingleQuoted };

  void finish(std::vector<std::string>& out);
  void reset();

  size_t max_message_;
  std::string current_;
  Lex lex_ = Lex::kValue;
  bool escape_ = false;
  bool scalar_ = false;  // a top-level scalar is pending; whitespace ends it
  int depth_ = 0;
};

}  // namespace vmm::qmp
