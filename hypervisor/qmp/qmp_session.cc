#include "hypervisor/qmp/qmp_session.h"

#include <array>

#include "hypervisor/qmp/qmp_args.h"

namespace vmm::qmp {
namespace {

constexpr std::string_view kGenericError = "GenericError";
constexpr std::string_view kCommandNotFound = "CommandNotFound";

Error generic(std::string desc) { return Error::make(Errc::kInvalidArgument, std::move(desc)); }

}  // namespace

std::string return_line(const Json& value, const Json* id) {
  Json reply = {{"return", value}};
  if (id) reply["id"] = *id;
  return to_wire(reply);
}

std::string error_line(std::string_view error_class, std::string_view desc, const Json* id) {
  Json reply = Json::object();
  if (id) reply["id"] = *id;
  reply["error"] = {{"class", std::string(error_class)}, {"desc", std::string(desc)}};
  return to_wire(reply);
}

std::string QmpSession::greeting() {
  // QEMU offers "oob" on every monitor that can do it; vmm accepts the
  // capability (no vmm command is allowed out of band, as with most of
  // QEMU's), so the greeting is identical in shape.
  return to_wire({{"QMP", {{"version", version_info()}, {"capabilities", Json::array({"oob"})}}}});
}

std::string QmpSession::handle(std::string_view text) {
  Result<Json> parsed = parse_request(text);
  if (!parsed) return error_line(kGenericError, parsed.error().message(), nullptr);
  const Json& request = *parsed;
  if (!request.is_object()) return error_line(kGenericError, "QMP input must be a JSON object", nullptr);
  auto id_it = request.find("id");
  const Json* id = id_it == request.end() ? nullptr : &*id_it;
  std::string_view error_class = kGenericError;
  Result<Json> result = dispatch(request, error_class);
  if (result) return return_line(*result, id);
  return error_line(error_class, result.error().message(), id);
}

Result<Json> QmpSession::dispatch(const Json& request, std::string_view& error_class) {
  // The few errors QEMU does not report as GenericError.
  auto command_not_found = [&error_class](std::string desc) {
    error_class = kCommandNotFound;
    return Error::make(Errc::kUnsupported, std::move(desc));
  };
  // The envelope, checked member by member as QEMU's qmp_dispatch_check_obj.
  for (const auto& [key, value] : request.items()) {
    if (key == "execute" || (key == "exec-oob" && oob_)) {
      if (!value.is_string()) return generic("QMP input member '" + key + "' must be a string");
    } else if (key == "arguments") {
      if (!value.is_object()) return generic("QMP input member 'arguments' must be an object");
    } else if (key != "id") {
      return generic("QMP input member '" + key + "' is unexpected");
    }
  }
  bool has_execute = request.contains("execute");
  bool has_oob = request.contains("exec-oob");
  if (has_execute && has_oob) return generic("QMP input must not contain both 'execute' and 'exec-oob'");
  if (!has_execute && !has_oob) return generic("QMP input lacks member 'execute'");
  std::string name = request[has_execute ? "execute" : "exec-oob"].get<std::string>();
  Json args = request.contains("arguments") ? request["arguments"] : Json::object();

  if (!negotiated_) {
    if (name != "qmp_capabilities") return command_not_found("Expecting capabilities negotiation with 'qmp_capabilities'");
    return qmp_capabilities(args);
  }
  if (name == "qmp_capabilities") {
    return command_not_found("Capabilities negotiation is already complete, command ignored");
  }
  if (!commands_.exists(name)) return command_not_found("The command " + name + " has not been found");
  if (has_oob) return generic("The command " + name + " does not support OOB");
  return commands_.run(name, args);
}

Result<Json> QmpSession::qmp_capabilities(const Json& args) {
  static constexpr std::array<ArgSpec, 1> kArgs = {{{"enable", ArgType::kArray, false}}};
  VMM_TRY(check_arguments(args, kArgs));
  bool oob = false;
  if (args.contains("enable")) {
    const Json& enable = args["enable"];
    for (size_t i = 0; i < enable.size(); ++i) {
      std::string path = "enable[" + std::to_string(i) + "]";
      if (!enable[i].is_string()) return invalid_parameter_type(path, "string");
      if (enable[i].get<std::string>() != "oob") return invalid_parameter_value(path, enable[i].get<std::string>());
      oob = true;
    }
  }
  oob_ = oob;
  negotiated_ = true;
  return Json::object();
}

}  // namespace vmm::qmp
