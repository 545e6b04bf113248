// QmpCommands: the command table of a negotiated session — argument
// checking against each command's schema, then either the server's own
// handling (version, command list, migration configuration) or a call into
// the backend. qmp_capabilities belongs to the session, not to this table.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/qmp/migration_config.h"
#include "hypervisor/qmp/qmp_args.h"
#include "hypervisor/qmp/qmp_backend.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

// The QEMU version vmm announces (greeting and query-version). Clients use
// it to pick a QMP dialect, and 7.2 is the one vmm reproduces (shapes,
// error texts, the migration capability and parameter sets); micro 0
// because vmm does not track QEMU's stable patch releases. `package` says
// what is really answering: "vmm 0.1.0".
inline constexpr int kQemuMajor = 7, kQemuMinor = 2, kQemuMicro = 0;
Json version_info();

class QmpCommands {
 public:
  explicit QmpCommands(QmpBackend& backend);

  bool exists(std::string_view name) const;
  // Every command a negotiated client may run, qmp_capabilities included.
  std::vector<std::string> names() const;
  // Runs a command that exists(); errors carry QEMU's desc text.
  Result<Json> run(std::string_view name, const Json& args);

  MigrationConfig& migration() { return migration_; }
  const MigrationConfig& migration() const { return migration_; }

 private:
  struct Command {
    std::string_view name;
    std::span<const ArgSpec> args;
    bool checks_own_args;  // the handler validates members itself
    Result<Json> (QmpCommands::*handler)(const Json& args);
  };
  static std::span<const Command> table();

  Result<Json> query_version(const Json& args);
  Result<Json> query_commands(const Json& args);
  Result<Json> query_status(const Json& args);
  Result<Json> query_kvm(const Json& args);
  Result<Json> stop(const Json& args);
  Result<Json> cont(const Json& args);
  Result<Json> system_reset(const Json& args);
  Result<Json> quit(const Json& args);
  Result<Json> migrate(const Json& args);
  Result<Json> query_migrate(const Json& args);
  Result<Json> migrate_set_capabilities(const Json& args);
  Result<Json> query_migrate_capabilities(const Json& args);
  Result<Json> migrate_set_parameters(const Json& args);
  Result<Json> query_migrate_parameters(const Json& args);

  QmpBackend& backend_;
  MigrationConfig migration_;
};

}  // namespace vmm::qmp
