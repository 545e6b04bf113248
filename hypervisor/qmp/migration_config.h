// MigrationConfig: the state behind migrate-set-capabilities and
// migrate-set-parameters. Like QEMU's it is one per VM, shared by every
// QMP client, and a request is checked completely before any of it applies.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "hypervisor/base/result.h"
#include "hypervisor/qmp/qmp_backend.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

class MigrationConfig {
 public:
  using CapabilityFilter = std::function<bool(std::string_view)>;

  MigrationConfig();

  // `args` is the command's arguments object; `can_enable` says which
  // capabilities may be turned on (the backend's supports_capability).
  Result<void> set_capabilities(const Json& args, const CapabilityFilter& can_enable);
  Json query_capabilities() const;  // [{"capability", "state"}] in QEMU's order

  Result<void> set_parameters(const Json& args);
  Json query_parameters() const;

  std::map<std::string, bool, std::less<>> capabilities() const { return capabilities_; }
  MigrationParameters parameters() const;

  // Read by migration_status_changed() on the backend's threads.
  bool events_enabled() const { return events_.load(std::memory_order_acquire); }

 private:
  std::map<std::string, bool, std::less<>> capabilities_;
  Json parameters_;  // every parameter QEMU 7.2 reports, plus x-vmm-compress
  std::atomic<bool> events_{false};
};

}  // namespace vmm::qmp
