#include "hypervisor/qmp/qmp_args.h"

namespace vmm::qmp {
namespace {

std::string member_path(std::string_view path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return std::string(path) + "." + std::string(name);
}

// Only the texts QEMU 7.2 prints are used; integer members report their
// width ("expects uint64"), the others their JSON kind.
Result<void> check_type(const Json& value, ArgType type, const std::string& name) {
  switch (type) {
    case ArgType::kString:
      if (!value.is_string()) return invalid_parameter_type(name, "string");
      break;
    case ArgType::kBool:
      if (!value.is_boolean()) return invalid_parameter_type(name, "boolean");
      break;
    case ArgType::kUint64:
      if (!as_uint64(value)) return parameter_expects(name, "uint64");
      break;
    case ArgType::kInt64:
      if (!value.is_number_integer()) return invalid_parameter_type(name, "integer");
      break;
    case ArgType::kObject:
      if (!value.is_object()) return invalid_parameter_type(name, "object");
      break;
    case ArgType::kArray:
      if (!value.is_array()) return invalid_parameter_type(name, "array");
      break;
    case ArgType::kAny:
      break;
  }
  return {};
}

}  // namespace

Error unexpected_parameter(std::string_view name) {
  return Error::make(Errc::kInvalidArgument, "Parameter '" + std::string(name) + "' is unexpected");
}

Error missing_parameter(std::string_view name) {
  return Error::make(Errc::kInvalidArgument, "Parameter '" + std::string(name) + "' is missing");
}

Error invalid_parameter_type(std::string_view name, std::string_view expected) {
  return Error::make(Errc::kInvalidArgument,
                     "Invalid parameter type for '" + std::string(name) + "', expected: " + std::string(expected));
}

Error invalid_parameter_value(std::string_view name, std::string_view value) {
  return Error::make(Errc::kInvalidArgument,
                     "Parameter '" + std::string(name) + "' does not accept value '" + std::string(value) + "'");
}

Error parameter_expects(std::string_view name, std::string_view what) {
  return Error::make(Errc::kInvalidArgument, "Parameter '" + std::string(name) + "' expects " + std::string(what));
}

std::optional<uint64_t> as_uint64(const Json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
  return std::nullopt;
}

Result<void> check_arguments(const Json& args, std::span<const ArgSpec> spec, std::string_view path) {
  for (const ArgSpec& member : spec) {
    auto it = args.find(member.name);
    std::string name = member_path(path, member.name);
    if (it == args.end()) {
      if (member.required) return missing_parameter(name);
      continue;
    }
    VMM_TRY(check_type(*it, member.type, name));
  }
  for (const auto& [key, value] : args.items()) {
    bool known = false;
    for (const ArgSpec& member : spec) known |= key == member.name;
    if (!known) return unexpected_parameter(member_path(path, key));
  }
  return {};
}

}  // namespace vmm::qmp
