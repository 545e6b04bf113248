#include "hypervisor/qmp/qmp_json.h"

#include <algorithm>
#include <cctype>

namespace vmm::qmp {
namespace {

void append_wire(const Json& value, std::string& out) {
  if (value.is_object()) {
    out += '{';
    bool first = true;
    for (const auto& [key, member] : value.items()) {
      if (!first) out += ", ";
      first = false;
      out += Json(key).dump(-1, ' ', true, Json::error_handler_t::replace);
      out += ": ";
      append_wire(member, out);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& element : value) {
      if (!first) out += ", ";
      first = false;
      append_wire(element, out);
    }
    out += ']';
  } else {
    out += value.dump(-1, ' ', true, Json::error_handler_t::replace);
  }
}

// nlohmann's messages name its own parser states; QEMU's name the mistake.
// Clients must not parse `desc`, but people read it, and the transcript
// tests compare classes only, so a close match is enough.
std::string qemu_parse_error(std::string_view text, const std::string& what, size_t byte) {
  std::string reason = "expecting value";
  if (what.find("expected ':'") != std::string::npos) {
    reason = "missing : in object pair";
  } else if (what.find("object key") != std::string::npos && what.find("expected string literal") != std::string::npos) {
    reason = "key is not a string in object";
  } else if (what.find("after backslash") != std::string::npos || what.find("\\u") != std::string::npos) {
    reason = "invalid escape sequence in string";
  } else if (what.find("invalid literal") != std::string::npos) {
    // nlohmann stops at the first wrong character; QEMU names the word.
    size_t start = std::min(byte > 0 ? byte - 1 : 0, text.size());
    while (start > 0 && std::isalnum(static_cast<unsigned char>(text[start - 1]))) --start;
    size_t end = start;
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) ++end;
    reason = "invalid keyword '" + std::string(text.substr(start, end - start)) + "'";
  } else if (what.find("control character") != std::string::npos || what.find("invalid string") != std::string::npos) {
    reason = "invalid character in string";
  }
  return "JSON parse error, " + reason;
}

}  // namespace

std::string to_wire(const Json& value) {
  std::string out;
  append_wire(value, out);
  return out;
}

Result<Json> parse_request(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return Error::make(Errc::kInvalidArgument, qemu_parse_error(text, e.what(), e.byte));
  } catch (const Json::exception& e) {
    return Error::make(Errc::kInvalidArgument, qemu_parse_error(text, e.what(), 0));
  }
}

Result<Json> parse_reply(std::string_view text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return Error::make(Errc::kInvalidArgument, std::string("malformed reply: ") + e.what());
  }
}

}  // namespace vmm::qmp
