#include "hypervisor/qmp/migration_config.h"

#include <gtest/gtest.h>

namespace vmm::qmp {
namespace {

bool only_events(std::string_view name) { return name == "events"; }

Json caps(std::string_view name, bool state) {
  return {{"capabilities", Json::array({{{"capability", std::string(name)}, {"state", state}}})}};
}

std::string error_of(const Result<void>& r) { return r ? std::string("ok") : r.error().message(); }

TEST(MigrationConfig, CapabilitiesListQemus72SetInOrderAllOff) {
  MigrationConfig config;
  Json list = config.query_capabilities();
  ASSERT_EQ(list.size(), 21u);
  EXPECT_EQ(list[0], Json({{"capability", "xbzrle"}, {"state", false}}));
  EXPECT_EQ(list[5]["capability"], "events");
  EXPECT_EQ(list[20]["capability"], "postcopy-preempt");
  EXPECT_FALSE(config.events_enabled());
}

TEST(MigrationConfig, EventsCanBeTurnedOnAndOff) {
  MigrationConfig config;
  ASSERT_TRUE(config.set_capabilities(caps("events", true), only_events));
  EXPECT_TRUE(config.events_enabled());
  EXPECT_TRUE(config.capabilities().at("events"));
  EXPECT_EQ(config.query_capabilities()[5]["state"], true);
  ASSERT_TRUE(config.set_capabilities(caps("events", false), only_events));
  EXPECT_FALSE(config.events_enabled());
}

TEST(MigrationConfig, UnknownCapabilityIsRejectedWithQemusText) {
  MigrationConfig config;
  EXPECT_EQ(error_of(config.set_capabilities(caps("nope", true), only_events)),
            "Parameter 'capability' does not accept value 'nope'");
}

TEST(MigrationConfig, KnownButUnsupportedCapabilityCanOnlyBeOff) {
  MigrationConfig config;
  // libvirt sends the full list with everything it does not want off.
  EXPECT_TRUE(config.set_capabilities(caps("xbzrle", false), only_events));
  EXPECT_TRUE(config.set_capabilities(caps("postcopy-ram", false), only_events));
  EXPECT_EQ(error_of(config.set_capabilities(caps("auto-converge", true), only_events)),
            "Capability 'auto-converge' is not supported by vmm");
}

TEST(MigrationConfig, CapabilityListShapeErrorsNameTheElement) {
  MigrationConfig config;
  EXPECT_EQ(error_of(config.set_capabilities(Json::object(), only_events)), "Parameter 'capabilities' is missing");
  EXPECT_EQ(error_of(config.set_capabilities({{"capabilities", 5}}, only_events)),
            "Invalid parameter type for 'capabilities', expected: array");
  EXPECT_EQ(error_of(config.set_capabilities({{"capabilities", Json::array({5})}}, only_events)),
            "Invalid parameter type for 'capabilities[0]', expected: object");
  EXPECT_EQ(error_of(config.set_capabilities(
                {{"capabilities", Json::array({{{"capability", "events"}, {"state", "yes"}}})}}, only_events)),
            "Invalid parameter type for 'capabilities[0].state', expected: boolean");
  EXPECT_EQ(error_of(config.set_capabilities({{"capabilities", Json::array({{{"capability", "events"}}})}}, only_events)),
            "Parameter 'capabilities[0].state' is missing");
  EXPECT_EQ(error_of(config.set_capabilities(
                {{"capabilities", Json::array({{{"capability", "events"}, {"state", true}, {"x", 1}}})}}, only_events)),
            "Parameter 'capabilities[0].x' is unexpected");
}

TEST(MigrationConfig, AFailedRequestChangesNothing) {
  MigrationConfig config;
  Json both = {{"capabilities", Json::array({{{"capability", "events"}, {"state", true}},
                                             {{"capability", "nope"}, {"state", true}}})}};
  EXPECT_FALSE(config.set_capabilities(both, only_events));
  EXPECT_FALSE(config.events_enabled());
  EXPECT_FALSE(config.set_parameters({{"max-bandwidth", 5}, {"downtime-limit", "x"}}));
  EXPECT_EQ(config.parameters().max_bandwidth, 134217728u);
}

TEST(MigrationConfig, ParametersHaveQemus72Defaults) {
  MigrationConfig config;
  Json p = config.query_parameters();
  EXPECT_EQ(p["max-bandwidth"], 134217728);
  EXPECT_EQ(p["downtime-limit"], 300);
  EXPECT_EQ(p["multifd-channels"], 2);
  EXPECT_EQ(p["xbzrle-cache-size"], 67108864);
  EXPECT_EQ(p["multifd-compression"], "none");
  EXPECT_EQ(p["tls-creds"], "");
  EXPECT_EQ(p["x-vmm-compress"], "none");
  EXPECT_EQ(p["x-vmm-fsync"], true);
  EXPECT_EQ(p.size(), 28u);  // QEMU 7.2's 26 [observed] plus x-vmm-compress and x-vmm-fsync
  EXPECT_TRUE(config.parameters().fsync);
  ASSERT_TRUE(config.set_parameters({{"x-vmm-fsync", false}}).ok());
  EXPECT_FALSE(config.parameters().fsync);
}

TEST(MigrationConfig, ParametersAreCheckedWithQemusTexts) {
  MigrationConfig config;
  EXPECT_EQ(error_of(config.set_parameters({{"max-bandwidth", "x"}})), "Parameter 'max-bandwidth' expects uint64");
  EXPECT_EQ(error_of(config.set_parameters({{"max-bandwidth", 1.5}})), "Parameter 'max-bandwidth' expects uint64");
  EXPECT_EQ(error_of(config.set_parameters({{"downtime-limit", 3000000}})),
            "Parameter 'downtime_limit' expects an integer in the range of 0 to (2000 * 1000) ms");
  EXPECT_EQ(error_of(config.set_parameters({{"downtime-limit", true}})), "Parameter 'downtime-limit' expects uint64");
  EXPECT_EQ(error_of(config.set_parameters({{"bogus", 1}})), "Parameter 'bogus' is unexpected");
  EXPECT_EQ(error_of(config.set_parameters({{"multifd-compression", "lz4"}})),
            "Parameter 'multifd-compression' does not accept value 'lz4'");
  EXPECT_EQ(error_of(config.set_parameters({{"x-vmm-compress", "zstd"}})),
            "Parameter 'x-vmm-compress' does not accept value 'zstd'");
  EXPECT_EQ(error_of(config.set_parameters({{"cpu-throttle-initial", 300}})),
            "Parameter 'cpu-throttle-initial' expects uint8");
  EXPECT_EQ(error_of(config.set_parameters({{"xbzrle-cache-size", 5000}})),
            "Parameter 'xbzrle_cache_size' expects a power of two no less than the target page size");
  EXPECT_FALSE(config.set_parameters({{"tls-creds", "tls0"}}));
  EXPECT_TRUE(config.set_parameters({{"tls-creds", nullptr}}));
}

TEST(MigrationConfig, ParametersReachTheBackendStruct) {
  MigrationConfig config;
  // libvirt raises the bandwidth to about INT64_MAX before a save [observed].
  ASSERT_TRUE(config.set_parameters({{"max-bandwidth", 9223372036853727232ull}, {"downtime-limit", 0},
                                     {"x-vmm-compress", "lz4"}, {"multifd-channels", 4}}));
  MigrationParameters p = config.parameters();
  EXPECT_EQ(p.max_bandwidth, 9223372036853727232ull);
  EXPECT_EQ(p.downtime_limit_ms, 0u);
  EXPECT_EQ(p.compress, Compression::kLz4);
  EXPECT_EQ(config.query_parameters()["multifd-channels"], 4);
  EXPECT_EQ(config.query_parameters()["max-bandwidth"], 9223372036853727232ull);
  ASSERT_TRUE(config.set_parameters(Json::object()));  // nothing to change is fine
}

}  // namespace
}  // namespace vmm::qmp
