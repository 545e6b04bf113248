#include "hypervisor/qmp/qmp_commands.h"

#include <array>

namespace vmm::qmp {
namespace {

constexpr std::array<ArgSpec, 0> kNoArgs{};
constexpr std::array<ArgSpec, 5> kMigrateArgs = {{
    {"uri", ArgType::kString, true},
    {"blk", ArgType::kBool, false},
    {"inc", ArgType::kBool, false},
    {"detach", ArgType::kBool, false},  // ignored by QEMU too
    {"resume", ArgType::kBool, false},
}};
// Checked in detail by MigrationConfig, which needs the element paths.
constexpr std::array<ArgSpec, 1> kCapabilityArgs = {{{"capabilities", ArgType::kAny, true}}};

Json empty() { return Json::object(); }

Error generic(std::string desc) { return Error::make(Errc::kInvalidArgument, std::move(desc)); }

// The schemes QEMU 7.2 accepts, plus file: (QEMU 8.2's) which is how vmm
// writes a snapshot. rdma: is QEMU syntax too but vmm has no RDMA.
std::optional<Transport> parse_scheme(std::string_view uri, std::string& address) {
  static constexpr std::pair<std::string_view, Transport> kSchemes[] = {
      {"file:", Transport::kFile}, {"exec:", Transport::kExec}, {"tcp:", Transport::kTcp},
      {"unix:", Transport::kUnix}, {"fd:", Transport::kFd},
  };
  for (const auto& [prefix, transport] : kSchemes) {
    if (uri.substr(0, prefix.size()) == prefix) {
      address = std::string(uri.substr(prefix.size()));
      return transport;
    }
  }
  return std::nullopt;
}

}  // namespace

Json version_info() {
  return {{"qemu", {{"micro", kQemuMicro}, {"minor", kQemuMinor}, {"major", kQemuMajor}}},
          {"package", std::string("vmm ") + VMM_VERSION}};
}

QmpCommands::QmpCommands(QmpBackend& backend) : backend_(backend) {}

std::span<const QmpCommands::Command> QmpCommands::table() {
  static const std::array<Command, 14> kTable = {{
      {"query-version", kNoArgs, false, &QmpCommands::query_version},
      {"query-commands", kNoArgs, false, &QmpCommands::query_commands},
      {"query-status", kNoArgs, false, &QmpCommands::query_status},
      {"query-kvm", kNoArgs, false, &QmpCommands::query_kvm},
      {"stop", kNoArgs, false, &QmpCommands::stop},
      {"cont", kNoArgs, false, &QmpCommands::cont},
      {"system_reset", kNoArgs, false, &QmpCommands::system_reset},
      {"quit", kNoArgs, false, &QmpCommands::quit},
      {"migrate", kMigrateArgs, false, &QmpCommands::migrate},
      {"query-migrate", kNoArgs, false, &QmpCommands::query_migrate},
      {"migrate-set-capabilities", kCapabilityArgs, false, &QmpCommands::migrate_set_capabilities},
      {"query-migrate-capabilities", kNoArgs, false, &QmpCommands::query_migrate_capabilities},
      // Every parameter is optional; MigrationConfig checks names and types.
      {"migrate-set-parameters", {}, true, &QmpCommands::migrate_set_parameters},
      {"query-migrate-parameters", kNoArgs, false, &QmpCommands::query_migrate_parameters},
  }};
  return kTable;
}

bool QmpCommands::exists(std::string_view name) const {
  for (const Command& c : table()) {
    if (c.name == name) return true;
  }
  return false;
}

std::vector<std::string> QmpCommands::names() const {
  std::vector<std::string> out = {"qmp_capabilities"};
  for (const Command& c : table()) out.emplace_back(c.name);
  return out;
}

Result<Json> QmpCommands::run(std::string_view name, const Json& args) {
  for (const Command& c : table()) {
    if (c.name != name) continue;
    if (!c.checks_own_args) VMM_TRY(check_arguments(args, c.args));
    return (this->*c.handler)(args);
  }
  return Error::make(Errc::kUnsupported, "The command " + std::string(name) + " has not been found");
}

Result<Json> QmpCommands::query_version(const Json&) { return version_info(); }

Result<Json> QmpCommands::query_commands(const Json&) {
  Json out = Json::array();
  for (const std::string& n : names()) out.push_back({{"name", n}});
  return out;
}

Result<Json> QmpCommands::query_status(const Json&) {
  RunState state = backend_.run_state();
  // `singlestep` is deprecated but QEMU 7.2 still sends it; keep the shape.
  return Json{{"status", std::string(run_state_name(state))},
              {"singlestep", false},
              {"running", state == RunState::kRunning}};
}

Result<Json> QmpCommands::query_kvm(const Json&) { return Json{{"enabled", true}, {"present", true}}; }

Result<Json> QmpCommands::stop(const Json&) {
  VMM_TRY(backend_.stop());
  return empty();
}

Result<Json> QmpCommands::cont(const Json&) {
  VMM_TRY(backend_.cont());
  return empty();
}

Result<Json> QmpCommands::system_reset(const Json&) {
  VMM_TRY(backend_.system_reset());
  return empty();
}

Result<Json> QmpCommands::quit(const Json&) {
  backend_.quit();
  return empty();
}

Result<Json> QmpCommands::migrate(const Json& args) {
  if (args.value("blk", false) || args.value("inc", false)) {
    return generic("Block migration (blk/inc) is not supported by vmm");
  }
  if (args.value("resume", false)) return generic("Cannot resume if there is no paused migration");
  if (migration_in_progress(backend_.query_migrate().status)) {
    return generic("There's a migration process in progress");
  }
  MigrationRequest request;
  request.uri = args["uri"].get<std::string>();
  std::optional<Transport> transport = parse_scheme(request.uri, request.address);
  if (!transport) return parameter_expects("uri", "a valid migration protocol");
  request.transport = *transport;
  request.capabilities = migration_.capabilities();
  request.parameters = migration_.parameters();
  VMM_TRY(backend_.start_migration(request));
  return empty();
}

Result<Json> QmpCommands::query_migrate(const Json&) { return migration_info_json(backend_.query_migrate()); }

Result<Json> QmpCommands::migrate_set_capabilities(const Json& args) {
  // Validate first: a malformed request gets its own error even mid-migration.
  MigrationConfig scratch;
  if (auto checked = scratch.set_capabilities(args, [](std::string_view) { return true; }); !checked) {
    return std::move(checked).error();
  }
  if (migration_in_progress(backend_.query_migrate().status)) {
    return generic("There's a migration process in progress");
  }
  VMM_TRY(migration_.set_capabilities(args, [this](std::string_view name) { return backend_.supports_capability(name); }));
  return empty();
}

Result<Json> QmpCommands::query_migrate_capabilities(const Json&) { return migration_.query_capabilities(); }

Result<Json> QmpCommands::migrate_set_parameters(const Json& args) {
  VMM_TRY(migration_.set_parameters(args));
  return empty();
}

Result<Json> QmpCommands::query_migrate_parameters(const Json&) { return migration_.query_parameters(); }

}  // namespace vmm::qmp
