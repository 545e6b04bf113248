// Argument checking with QEMU's error texts. QEMU's QAPI visitor walks the
// schema members in order (reporting a missing or mistyped member first)
// and only then rejects members it did not consume; check_arguments does
// the same, so a request with several mistakes gets the same complaint.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

enum class ArgType { kString, kBool, kUint64, kInt64, kObject, kArray, kAny };

struct ArgSpec {
  const char* name;
  ArgType type;
  bool required;
};

// `path` prefixes member names in messages, as QEMU's 'capabilities[0].state'.
Result<void> check_arguments(const Json& args, std::span<const ArgSpec> spec, std::string_view path = "");

// The texts themselves, for checks the table cannot express.
Error unexpected_parameter(std::string_view name);
Error missing_parameter(std::string_view name);
Error invalid_parameter_type(std::string_view name, std::string_view expected);
Error invalid_parameter_value(std::string_view name, std::string_view value);
Error parameter_expects(std::string_view name, std::string_view what);

// The value as an unsigned integer if it is a non-negative JSON integer.
std::optional<uint64_t> as_uint64(const Json& value);

}  // namespace vmm::qmp
