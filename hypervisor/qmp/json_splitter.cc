#include "hypervisor/qmp/json_splitter.h"

namespace vmm::qmp {
namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_recovery(unsigned char c) { return (c < 0x20 && !is_space(c)) || c == 0xff; }

}  // namespace

void JsonSplitter::finish(std::vector<std::string>& out) {
  if (!current_.empty()) out.push_back(std::move(current_));
  reset();
}

void JsonSplitter::reset() {
  current_.clear();
  lex_ = Lex::kValue;
  escape_ = false;
  scalar_ = false;
  depth_ = 0;
}

JsonSplitter::Status JsonSplitter::feed(std::string_view bytes, std::vector<std::string>& out) {
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (lex_ != Lex::kValue) {
      if (escape_) {
        escape_ = false;
        // `\'` is a QEMU extension in both string kinds; standard JSON has
        // no such escape, so drop the backslash.
        if (c == '\'') current_.back() = '\'';
        else current_ += ch;
      } else if (c == '\\') {
        escape_ = true;
        current_ += ch;
      } else if ((lex_ == Lex::kDoubleQuoted && c == '"') || (lex_ == Lex::kSingleQuoted && c == '\'')) {
        current_ += '"';
        lex_ = Lex::kValue;
        if (depth_ == 0) scalar_ = true;
      } else if (lex_ == Lex::kSingleQuoted && c == '"') {
        current_ += "\\\"";
      } else if (c < 0x20 || c == 0xff) {
        // A raw control character cannot be in a JSON string: the string is
        // broken (often an unterminated one at the end of a line). Hand it
        // on now so the client gets a parse error instead of silence.
        current_ += ch;
        finish(out);
      } else {
        current_ += ch;
      }
    } else if (is_space(c)) {
      if (depth_ == 0) {
        if (scalar_) finish(out);
      } else {
        current_ += ' ';  // keeps tokens apart; its exact kind does not matter
      }
    } else if (is_recovery(c)) {
      reset();
    } else if (c == '{' || c == '[') {
      if (depth_ == 0 && scalar_) finish(out);
      if (++depth_ > kMaxDepth) return Status::kTooDeep;
      current_ += ch;
    } else if (c == '}' || c == ']') {
      current_ += ch;
      // A stray closer at the top level is delimited on its own so the
      // parser reports it, as QEMU does ("expecting value").
      if (--depth_ <= 0) finish(out);
    } else if (c == '"' || c == '\'') {
      if (depth_ == 0 && scalar_) finish(out);
      current_ += '"';
      lex_ = c == '"' ? Lex::kDoubleQuoted : Lex::kSingleQuoted;
    } else {
      current_ += ch;
      if (depth_ == 0) scalar_ = true;
    }
    if (current_.size() > max_message_) return Status::kTooLarge;
  }
  return Status::kOk;
}

}  // namespace vmm::qmp
