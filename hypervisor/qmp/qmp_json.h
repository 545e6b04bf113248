// JSON as QMP puts it on the wire. Every document the server writes keeps
// the key order it was built in (nlohmann::ordered_json), and is printed the
// way QEMU prints it — `{"key": value, ...}`, ASCII only — so a transcript of
// vmm reads like one of QEMU and naive text-matching clients keep working.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "hypervisor/base/result.h"

namespace vmm::qmp {

using Json = nlohmann::ordered_json;

// One line without the terminator: `{"return": {}}`. Never throws: invalid
// UTF-8 in strings (possible in an echoed id) is replaced, not rejected.
std::string to_wire(const Json& value);

// Parses one complete JSON text. On failure the error message is QEMU's
// wording for the same mistake ("JSON parse error, expecting value").
Result<Json> parse_request(std::string_view text);

// Parses a line the server sent (strict JSON; no exceptions escape).
Result<Json> parse_reply(std::string_view text);

}  // namespace vmm::qmp
