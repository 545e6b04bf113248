// The protocol on strings: negotiation, envelopes, errors with QEMU 7.2's
// classes and texts (recorded from QEMU 7.2.22, see the anchor notes).
#include "hypervisor/qmp/qmp_session.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/qmp/fake_backend.h"

namespace vmm::qmp {
namespace {

class QmpSessionTest : public ::testing::Test {
 protected:
  Json send(std::string_view text) {
    Result<Json> reply = parse_reply(session_.handle(text));
    EXPECT_TRUE(reply.ok());
    return reply.ok() ? *reply : Json();
  }
  void negotiate() { ASSERT_EQ(send(R"({"execute": "qmp_capabilities"})"), Json({{"return", Json::object()}})); }
  static void expect_error(const Json& reply, std::string_view cls, std::string_view desc) {
    ASSERT_TRUE(reply.contains("error")) << reply.dump();
    EXPECT_EQ(reply["error"]["class"], cls) << reply.dump();
    EXPECT_EQ(reply["error"]["desc"], desc) << reply.dump();
  }

  test::FakeBackend backend_;
  QmpCommands commands_{backend_};
  QmpSession session_{commands_};
};

TEST_F(QmpSessionTest, GreetingHasQemusShape) {
  Json g = *parse_reply(QmpSession::greeting());
  EXPECT_EQ(g["QMP"]["version"]["qemu"], Json({{"micro", 0}, {"minor", 2}, {"major", 7}}));
  EXPECT_EQ(g["QMP"]["version"]["package"], std::string("vmm ") + VMM_VERSION);
  EXPECT_EQ(g["QMP"]["capabilities"], Json::array({"oob"}));
  EXPECT_EQ(QmpSession::greeting().substr(0, 34), R"({"QMP": {"version": {"qemu": {"mic)");
}

TEST_F(QmpSessionTest, CommandsBeforeNegotiationAreNotFound) {
  Json r = send(R"({"execute": "query-status", "id": 1})");
  expect_error(r, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
  EXPECT_EQ(r["id"], 1);
  EXPECT_FALSE(session_.negotiated());
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(QmpSessionTest, NegotiatingTwiceIsRefusedLikeQemu) {
  negotiate();
  EXPECT_TRUE(session_.negotiated());
  expect_error(send(R"({"execute": "qmp_capabilities", "id": "b"})"), "CommandNotFound",
               "Capabilities negotiation is already complete, command ignored");
}

TEST_F(QmpSessionTest, CapabilitiesArgumentsAreChecked) {
  expect_error(send(R"({"execute": "qmp_capabilities", "arguments": {"bogus": 1}})"), "GenericError",
               "Parameter 'bogus' is unexpected");
  expect_error(send(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["nope"]}})"), "GenericError",
               "Parameter 'enable[0]' does not accept value 'nope'");
  EXPECT_EQ(send(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})")["return"], Json::object());
}

TEST_F(QmpSessionTest, IdIsEchoedVerbatim) {
  negotiate();
  for (const char* id : {"42", "\"abc\"", "{\"a\": [1, {\"b\": null}]}", "null", "3.5"}) {
    Json r = send(std::string(R"({"execute": "query-status", "id": )") + id + "}");
    EXPECT_EQ(r["id"], Json::parse(id)) << id;
    EXPECT_TRUE(r.contains("return"));
  }
  Json e = send(R"({"execute": "nope", "id": {"x": 1}})");
  EXPECT_EQ(e["id"], Json({{"x", 1}}));
  // QEMU's key order: return before id, id before error.
  EXPECT_EQ(session_.handle(R"({"execute": "stop", "id": 7})"), R"({"return": {}, "id": 7})");
  EXPECT_EQ(session_.handle(R"({"execute": "x", "id": 7})"),
            R"({"id": 7, "error": {"class": "CommandNotFound", "desc": "The command x has not been found"}})");
}

TEST_F(QmpSessionTest, MalformedJsonIsAGenericErrorWithoutId) {
  Json r = send(R"({ "execute": })");
  expect_error(r, "GenericError", "JSON parse error, expecting value");
  EXPECT_FALSE(r.contains("id"));
  expect_error(send(R"({"execute" "a"})"), "GenericError", "JSON parse error, missing : in object pair");
  expect_error(send(R"({1: 2})"), "GenericError", "JSON parse error, key is not a string in object");
  expect_error(send(R"({"a": "\q"})"), "GenericError", "JSON parse error, invalid escape sequence in string");
  expect_error(send("xyz"), "GenericError", "JSON parse error, invalid keyword 'xyz'");
  expect_error(send("}"), "GenericError", "JSON parse error, expecting value");
}

TEST_F(QmpSessionTest, EnvelopeErrorsUseQemusTexts) {
  for (const char* text : {"[1, 2]", "42", "\"str\"", "null"}) {
    expect_error(send(text), "GenericError", "QMP input must be a JSON object");
  }
  Json r = send(R"({"id": 5})");
  expect_error(r, "GenericError", "QMP input lacks member 'execute'");
  EXPECT_EQ(r["id"], 5);
  expect_error(send(R"({"execute": 42})"), "GenericError", "QMP input member 'execute' must be a string");
  expect_error(send(R"({"execute": "stop", "arguments": []})"), "GenericError",
               "QMP input member 'arguments' must be an object");
  expect_error(send(R"({"execute": "stop", "foo": 1})"), "GenericError", "QMP input member 'foo' is unexpected");
  expect_error(send(R"({"exec-oob": "stop"})"), "GenericError", "QMP input member 'exec-oob' is unexpected");
}

TEST_F(QmpSessionTest, UnknownCommandAndBadArguments) {
  negotiate();
  expect_error(send(R"({"execute": "no-such-cmd"})"), "CommandNotFound", "The command no-such-cmd has not been found");
  expect_error(send(R"({"execute": "query-status", "arguments": {"x": 1}})"), "GenericError",
               "Parameter 'x' is unexpected");
  expect_error(send(R"({"execute": "migrate"})"), "GenericError", "Parameter 'uri' is missing");
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": 5}})"), "GenericError",
               "Invalid parameter type for 'uri', expected: string");
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": "file:/x", "detach": 1}})"), "GenericError",
               "Invalid parameter type for 'detach', expected: boolean");
  // Members are checked in schema order before unexpected ones, as QEMU does.
  expect_error(send(R"({"execute": "migrate", "arguments": {"bogus": 1, "uri": 5}})"), "GenericError",
               "Invalid parameter type for 'uri', expected: string");
  EXPECT_TRUE(backend_.calls().empty());
}

TEST_F(QmpSessionTest, SingleQuotedRequestsWorkLikeQemu) {
  std::vector<std::string> texts;
  ASSERT_EQ(session_.splitter().feed("{'execute': 'qmp_capabilities', 'id': 'a'}", texts), JsonSplitter::Status::kOk);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(send(texts[0]), Json({{"return", Json::object()}, {"id", "a"}}));
}

TEST_F(QmpSessionTest, OobEnabledCommandsSayTheyDoNotSupportIt) {
  send(R"({"execute": "qmp_capabilities", "arguments": {"enable": ["oob"]}})");
  expect_error(send(R"({"exec-oob": "stop", "id": 1})"), "GenericError", "The command stop does not support OOB");
  expect_error(send(R"({"exec-oob": "stop", "execute": "stop"})"), "GenericError",
               "QMP input must not contain both 'execute' and 'exec-oob'");
}

TEST_F(QmpSessionTest, QueryCommandsListsEveryCommandAndEachOneExists) {
  negotiate();
  Json list = send(R"({"execute": "query-commands"})")["return"];
  std::set<std::string> names;
  for (const Json& entry : list) names.insert(entry["name"].get<std::string>());
  for (const char* expected :
       {"qmp_capabilities", "query-version", "query-commands", "query-status", "stop", "cont", "system_reset", "quit",
        "migrate", "query-migrate", "migrate-set-capabilities", "query-migrate-capabilities",
        "migrate-set-parameters", "query-migrate-parameters", "query-kvm"}) {
    EXPECT_TRUE(names.count(expected)) << expected;
  }
  EXPECT_EQ(names.size(), list.size());
  for (const std::string& name : names) {
    if (name == "qmp_capabilities") continue;  // already negotiated: CommandNotFound by design
    Json r = send(R"({"execute": ")" + name + R"(", "arguments": {"x-probe": 1}})");
    // Every listed command is found (argument errors are fine).
    EXPECT_NE(r["error"]["class"], "CommandNotFound") << name;
  }
}

TEST_F(QmpSessionTest, QueryVersionAndStatus) {
  negotiate();
  Json greeting = *parse_reply(QmpSession::greeting());
  EXPECT_EQ(send(R"({"execute": "query-version"})")["return"], greeting["QMP"]["version"]);
  EXPECT_EQ(session_.handle(R"({"execute": "query-status"})"),
            R"({"return": {"status": "running", "singlestep": false, "running": true}})");
  send(R"({"execute": "stop"})");
  EXPECT_EQ(send(R"({"execute": "query-status"})")["return"]["status"], "paused");
  EXPECT_EQ(send(R"({"execute": "query-status"})")["return"]["running"], false);
  backend_.set_state(RunState::kPostMigrate);
  EXPECT_EQ(send(R"({"execute": "query-status"})")["return"]["status"], "postmigrate");
}

TEST_F(QmpSessionTest, BackendErrorsAreGenericErrors) {
  negotiate();
  backend_.fail_cont();
  expect_error(send(R"({"execute": "cont", "id": 3})"), "GenericError", "Resetting the Virtual Machine is required");
}

TEST_F(QmpSessionTest, MigrateChecksTheUriAndPassesTheConfiguration) {
  negotiate();
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": "bogus"}})"), "GenericError",
               "Parameter 'uri' expects a valid migration protocol");
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": "tcp:h:1"}})"), "GenericError",
               "vmm migrates only to file: URIs");
  send(R"({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}})");
  send(R"({"execute": "migrate-set-parameters", "arguments": {"x-vmm-compress": "lz4", "max-bandwidth": 1000}})");
  EXPECT_EQ(send(R"({"execute": "migrate", "arguments": {"uri": "file:/tmp/snap,x", "detach": true}})")["return"],
            Json::object());
  MigrationRequest request = backend_.last_request();
  EXPECT_EQ(request.uri, "file:/tmp/snap,x");
  EXPECT_EQ(request.transport, Transport::kFile);
  EXPECT_EQ(request.address, "/tmp/snap,x");
  EXPECT_TRUE(request.capabilities.at("events"));
  EXPECT_FALSE(request.capabilities.at("xbzrle"));
  EXPECT_EQ(request.parameters.compress, Compression::kLz4);
  EXPECT_EQ(request.parameters.max_bandwidth, 1000u);
  EXPECT_EQ(request.parameters.downtime_limit_ms, 300u);
  // The fake is now in `setup`: a second migration and capability changes wait.
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": "file:/tmp/b"}})"), "GenericError",
               "There's a migration process in progress");
  expect_error(send(R"({"execute": "migrate-set-capabilities", "arguments": {"capabilities": []}})"),
               "GenericError", "There's a migration process in progress");
  expect_error(send(R"({"execute": "migrate", "arguments": {"uri": "file:/x", "resume": true}})"), "GenericError",
               "Cannot resume if there is no paused migration");
}

TEST_F(QmpSessionTest, QueryMigrateFollowsQemusShapes) {
  negotiate();
  EXPECT_EQ(session_.handle(R"({"execute": "query-migrate"})"), R"({"return": {}})");
  MigrationInfo done;
  done.status = MigrationStatus::kCompleted;
  done.total_time_ms = 110;
  done.setup_time_ms = 4;
  done.downtime_ms = 1;
  done.ram = MigrationRamStats{};
  done.ram->total = 67186688;
  backend_.set_migration(done);
  Json r = send(R"({"execute": "query-migrate"})")["return"];
  EXPECT_EQ(r["status"], "completed");
  EXPECT_EQ(r["total-time"], 110);
  EXPECT_EQ(r["downtime"], 1);
  EXPECT_EQ(r["ram"]["total"], 67186688);
  // The 18 keys QEMU 7.2 reports in `ram` [observed].
  EXPECT_EQ(r["ram"].size(), 18u);
  for (const char* key : {"transferred", "remaining", "duplicate", "skipped", "normal", "normal-bytes", "mbps",
                          "pages-per-second", "dirty-sync-count", "page-size", "precopy-bytes"}) {
    EXPECT_TRUE(r["ram"].contains(key)) << key;
  }
  EXPECT_FALSE(r.contains("error-desc"));
  MigrationInfo failed;
  failed.status = MigrationStatus::kFailed;
  failed.error_desc = "No space left on device";
  backend_.set_migration(failed);
  EXPECT_EQ(send(R"({"execute": "query-migrate"})")["return"],
            Json({{"status", "failed"}, {"error-desc", "No space left on device"}}));
}

}  // namespace
}  // namespace vmm::qmp
