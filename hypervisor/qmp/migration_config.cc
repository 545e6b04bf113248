#include "hypervisor/qmp/migration_config.h"

#include <array>
#include <cstdint>
#include <optional>

#include "hypervisor/qmp/qmp_args.h"

namespace vmm::qmp {
namespace {

// QEMU 7.2's MigrationCapability enum, in its order [observed].
constexpr std::array<std::string_view, 21> kCapabilities = {
    "xbzrle",        "rdma-pin-all",    "auto-converge",           "zero-blocks",    "compress",
    "events",        "postcopy-ram",    "x-colo",                  "release-ram",    "block",
    "return-path",   "pause-before-switchover", "multifd",         "dirty-bitmaps",  "postcopy-blocktime",
    "late-block-activate", "x-ignore-shared", "validate-uuid",     "background-snapshot", "zero-copy-send",
    "postcopy-preempt",
};

enum class Kind { kUint, kBool, kEnum, kTls };

struct Param {
  std::string_view name;
  Kind kind;
  uint64_t def;                  // default (kUint, kBool as 0/1)
  std::string_view width;        // kUint: the QAPI type named when a value does not fit
  uint64_t width_max;
  uint64_t min, max;             // kUint: accepted range
  std::string_view range_text;   // QEMU's wording for an out-of-range value
  std::array<std::string_view, 3> values;  // kEnum: accepted values, first is the default
};

constexpr uint64_t kU8 = 0xff, kU32 = 0xffffffffu, kU64 = UINT64_MAX;

// MigrationParameters in QEMU's schema order with 7.2's defaults and
// range checks (migration/migration.c migrate_params_check). Only
// max-bandwidth, downtime-limit, x-vmm-compress and x-vmm-fsync change what
// vmm does;
// the rest are accepted and reported so QEMU tooling that sets them works.
constexpr std::array<Param, 28> kParams = {{
    {"announce-initial", Kind::kUint, 50, "uint64", kU64, 1, 100000, "a value between 1 and 100000", {}},
    {"announce-max", Kind::kUint, 550, "uint64", kU64, 1, 100000, "a value between 1 and 100000", {}},
    {"announce-rounds", Kind::kUint, 5, "uint64", kU64, 0, 1000, "a value between 0 and 1000", {}},
    {"announce-step", Kind::kUint, 100, "uint64", kU64, 1, 10000, "a value between 0 and 10000", {}},
    {"compress-level", Kind::kUint, 1, "uint8", kU8, 0, 9, "a value between 0 and 9", {}},
    {"compress-threads", Kind::kUint, 8, "uint8", kU8, 1, 255, "a value between 1 and 255", {}},
    {"compress-wait-thread", Kind::kBool, 1, "", 0, 0, 0, "", {}},
    {"decompress-threads", Kind::kUint, 2, "uint8", kU8, 1, 255, "a value between 1 and 255", {}},
    {"throttle-trigger-threshold", Kind::kUint, 50, "uint8", kU8, 1, 100, "an integer in the range of 1 to 100", {}},
    {"cpu-throttle-initial", Kind::kUint, 20, "uint8", kU8, 1, 99, "an integer in the range of 1 to 99", {}},
    {"cpu-throttle-increment", Kind::kUint, 10, "uint8", kU8, 1, 99, "an integer in the range of 1 to 99", {}},
    {"cpu-throttle-tailslow", Kind::kBool, 0, "", 0, 0, 0, "", {}},
    {"tls-creds", Kind::kTls, 0, "", 0, 0, 0, "", {}},
    {"tls-hostname", Kind::kTls, 0, "", 0, 0, 0, "", {}},
    {"tls-authz", Kind::kTls, 0, "", 0, 0, 0, "", {}},
    {"max-bandwidth", Kind::kUint, 134217728, "uint64", kU64, 0, kU64, "", {}},
    {"downtime-limit", Kind::kUint, 300, "uint64", kU64, 0, 2000000,
     "an integer in the range of 0 to (2000 * 1000) ms", {}},
    {"x-checkpoint-delay", Kind::kUint, 20000, "uint32", kU32, 0, kU32, "", {}},
    {"block-incremental", Kind::kBool, 0, "", 0, 0, 0, "", {}},
    {"multifd-channels", Kind::kUint, 2, "uint8", kU8, 1, 255, "a value between 1 and 255", {}},
    {"xbzrle-cache-size", Kind::kUint, 67108864, "uint64", kU64, 4096, kU64,
     "a power of two no less than the target page size", {}},
    {"max-postcopy-bandwidth", Kind::kUint, 0, "uint64", kU64, 0, kU64, "", {}},
    {"max-cpu-throttle", Kind::kUint, 99, "uint8", kU8, 1, 99, "an integer in the range of 1 to 99", {}},
    {"multifd-compression", Kind::kEnum, 0, "", 0, 0, 0, "", {"none", "zlib", "zstd"}},
    {"multifd-zlib-level", Kind::kUint, 1, "uint8", kU8, 0, 9, "a value between 0 and 9", {}},
    {"multifd-zstd-level", Kind::kUint, 1, "uint8", kU8, 0, 20, "a value between 0 and 20", {}},
    // vmm's own: how `migrate` to a file stores guest memory.
    {"x-vmm-compress", Kind::kEnum, 0, "", 0, 0, 0, "", {"none", "lz4", ""}},
    // vmm's own: whether a snapshot file is made durable (fsync) before
    // `migrate` reports completed.
    {"x-vmm-fsync", Kind::kBool, 1, "", 0, 0, 0, "", {}},
}};

// QEMU names parameters with underscores in range errors (the C field name).
std::string c_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '-' ? '_' : c;
  return out;
}

Result<Json> check_param(const Param& p, const Json& value) {
  std::string name(p.name);
  switch (p.kind) {
    case Kind::kBool:
      if (!value.is_boolean()) return invalid_parameter_type(name, "boolean");
      return value;
    case Kind::kTls:
      // TLS needs credentials objects vmm does not have; accepting a name
      // here would promise an encrypted migration that never happens.
      if (value.is_null() || (value.is_string() && value.get<std::string>().empty())) return Json("");
      if (!value.is_string()) return invalid_parameter_type(name, "string");
      return Error::make(Errc::kUnsupported, "Parameter '" + name + "': TLS migration is not supported by vmm");
    case Kind::kEnum: {
      if (!value.is_string()) return invalid_parameter_type(name, "string");
      const std::string text = value.get<std::string>();
      for (std::string_view v : p.values) {
        if (!v.empty() && v == text) return value;
      }
      return invalid_parameter_value(name, text);
    }
    case Kind::kUint: {
      std::optional<uint64_t> n = as_uint64(value);
      if (!n) return parameter_expects(name, "uint64");
      if (*n > p.width_max) return parameter_expects(name, p.width);
      bool power_of_two = (*n & (*n - 1)) == 0;
      bool in_range = *n >= p.min && *n <= p.max && (p.name != "xbzrle-cache-size" || power_of_two);
      if (!in_range) return parameter_expects(c_name(p.name), p.range_text);
      return Json(*n);
    }
  }
  return value;
}

Json default_value(const Param& p) {
  switch (p.kind) {
    case Kind::kBool: return Json(p.def != 0);
    case Kind::kTls: return Json("");
    case Kind::kEnum: return Json(std::string(p.values[0]));
    case Kind::kUint: return Json(p.def);
  }
  return Json();
}

}  // namespace

MigrationConfig::MigrationConfig() : parameters_(Json::object()) {
  for (std::string_view name : kCapabilities) capabilities_.emplace(name, false);
  for (const Param& p : kParams) parameters_[std::string(p.name)] = default_value(p);
}

Result<void> MigrationConfig::set_capabilities(const Json& args, const CapabilityFilter& can_enable) {
  static constexpr ArgSpec kArgs[] = {{"capabilities", ArgType::kArray, true}};
  static constexpr ArgSpec kEntry[] = {{"capability", ArgType::kString, true}, {"state", ArgType::kBool, true}};
  VMM_TRY(check_arguments(args, kArgs));
  auto updated = capabilities_;
  const Json& list = args["capabilities"];
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = "capabilities[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return invalid_parameter_type(path, "object");
    VMM_TRY(check_arguments(list[i], kEntry, path));
    std::string name = list[i]["capability"].get<std::string>();
    auto it = updated.find(name);
    if (it == updated.end()) return invalid_parameter_value("capability", name);
    bool state = list[i]["state"].get<bool>();
    if (state && !can_enable(name)) {
      return Error::make(Errc::kUnsupported, "Capability '" + name + "' is not supported by vmm");
    }
    it->second = state;
  }
  capabilities_ = std::move(updated);
  events_.store(capabilities_["events"], std::memory_order_release);
  return {};
}

Json MigrationConfig::query_capabilities() const {
  Json out = Json::array();
  for (std::string_view name : kCapabilities) {
    out.push_back({{"capability", std::string(name)}, {"state", capabilities_.find(name)->second}});
  }
  return out;
}

Result<void> MigrationConfig::set_parameters(const Json& args) {
  Json updated = parameters_;
  // Schema order first, as QEMU's visitor, then anything unknown.
  for (const Param& p : kParams) {
    auto it = args.find(std::string(p.name));
    if (it == args.end()) continue;
    updated[std::string(p.name)] = VMM_TRY(check_param(p, *it));
  }
  for (const auto& [key, value] : args.items()) {
    if (!parameters_.contains(key)) return unexpected_parameter(key);
  }
  parameters_ = std::move(updated);
  return {};
}

Json MigrationConfig::query_parameters() const { return parameters_; }

MigrationParameters MigrationConfig::parameters() const {
  MigrationParameters out;
  // Every key exists from the constructor on and holds a checked value.
  out.max_bandwidth = parameters_.value("max-bandwidth", out.max_bandwidth);
  out.downtime_limit_ms = parameters_.value("downtime-limit", out.downtime_limit_ms);
  out.compress = parameters_.value("x-vmm-compress", std::string("none")) == "lz4" ? Compression::kLz4 : Compression::kNone;
  out.fsync = parameters_.value("x-vmm-fsync", true);
  return out;
}

}  // namespace vmm::qmp
