// The server over a real unix socket in a temporary directory.
#include "hypervisor/qmp/qmp_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>

#include "hypervisor/qmp/qmp_session.h"
#include "tests/unit/qmp/fake_backend.h"
#include "tests/unit/qmp/test_socket.h"

namespace vmm::qmp {
namespace {

using namespace std::chrono_literals;
using test::RawConnection;

constexpr std::string_view kCaps = "{\"execute\": \"qmp_capabilities\"}\n";

class QmpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void TearDown() override { stop(); }

  void start(QmpServerOptions options = {}) {
    auto server = QmpServer::start(path_, backend_, options);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(server).value();
    backend_.attach(server_.get());
  }
  void stop() {
    backend_.attach(nullptr);
    server_.reset();
  }
  // A connection that has read the greeting and negotiated.
  std::unique_ptr<RawConnection> negotiated() {
    auto c = std::make_unique<RawConnection>(path_);
    EXPECT_TRUE(c->json().contains("QMP"));
    c->send(kCaps);
    EXPECT_EQ(c->json(), Json({{"return", Json::object()}}));
    return c;
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("qmp.sock");
  test::FakeBackend backend_;
  std::unique_ptr<QmpServer> server_;
};

TEST_F(QmpServerTest, GreetsEachClientOnConnect) {
  RawConnection c(path_);
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.line(), QmpSession::greeting());
}

TEST_F(QmpServerTest, LinesEndWithCrLfAsQemus) {
  RawConnection c(path_);
  EXPECT_EQ(c.line(5s, true), QmpSession::greeting() + "\r\n");
  c.send(kCaps);
  EXPECT_EQ(c.line(5s, true), "{\"return\": {}}\r\n");
}

TEST_F(QmpServerTest, SeveralRequestsInOneWriteGetRepliesInOrder) {
  RawConnection c(path_);
  c.line();
  c.send(std::string(kCaps) + R"({"execute": "query-status", "id": 1}{"execute": "stop", "id": 2})"
         "\n" R"({"execute": "query-status", "id": 3})" "\n");
  EXPECT_EQ(c.json()["return"], Json::object());
  EXPECT_EQ(c.json()["id"], 1);
  EXPECT_EQ(c.json()["event"], "STOP");
  EXPECT_EQ(c.json()["id"], 2);
  Json last = c.json();
  EXPECT_EQ(last["id"], 3);
  EXPECT_EQ(last["return"]["status"], "paused");
}

TEST_F(QmpServerTest, RequestSplitOverWritesIsAssembled) {
  auto c = negotiated();
  std::string request = R"({"execute": "query-status", "id": "split"})" "\n";
  for (char ch : request) {
    c->send(std::string(1, ch));
    std::this_thread::sleep_for(1ms);
  }
  Json reply = c->json();
  EXPECT_EQ(reply["id"], "split");
  EXPECT_EQ(reply["return"]["status"], "running");
}

TEST_F(QmpServerTest, ClientHangingUpMidCommandHarmsNothing) {
  backend_.set_stop_delay(200ms);
  {
    auto a = negotiated();
    a->send(R"({"execute": "stop", "id": 1})" "\n");
    a->close();  // before the reply: the server's send must not raise SIGPIPE
  }
  {
    RawConnection half(path_);
    half.line();
    half.send(R"({"execute": "qmp_capab)");  // a partial request, then gone
  }
  auto b = negotiated();
  b->send(R"({"execute": "query-status"})" "\n");
  EXPECT_EQ(b->json()["return"]["status"], "paused");  // the stop did run
  EXPECT_EQ(backend_.calls(), std::vector<std::string>({"stop"}));
}

TEST_F(QmpServerTest, SeveralClientsAtOnceEachWithItsOwnState) {
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(negotiated());
  RawConnection fresh(path_);
  fresh.line();
  for (int i = 0; i < 5; ++i) clients[i]->send(R"({"execute": "query-status", "id": )" + std::to_string(i) + "}\n");
  fresh.send(R"({"execute": "query-status", "id": 9})" "\n");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(clients[i]->json()["id"], i);
  EXPECT_EQ(fresh.json()["error"]["class"], "CommandNotFound");
}

TEST_F(QmpServerTest, EventsCarryTimestampsAndReachOnlyNegotiatedClients) {
  auto a = negotiated();
  RawConnection b(path_);
  b.line();
  server_->emit("WAKEUP");
  server_->emit("RESET", {{"guest", true}, {"reason", "guest-reset"}});
  Json wake = a->json();
  EXPECT_EQ(wake["event"], "WAKEUP");
  EXPECT_FALSE(wake.contains("data"));
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_NEAR(wake["timestamp"]["seconds"].get<int64_t>(), now, 5);
  int64_t us = wake["timestamp"]["microseconds"].get<int64_t>();
  EXPECT_GE(us, 0);
  EXPECT_LT(us, 1000000);
  Json reset = a->json();
  EXPECT_EQ(reset["data"], Json({{"guest", true}, {"reason", "guest-reset"}}));
  // The first line the unnegotiated client sees is its own reply.
  b.send(kCaps);
  EXPECT_EQ(b.json(), Json({{"return", Json::object()}}));
  EXPECT_FALSE(b.line(100ms));
}

TEST_F(QmpServerTest, EventsCausedByACommandPrecedeItsReply) {
  auto c = negotiated();
  c->send(R"({"execute": "stop", "id": 1})" "\n" R"({"execute": "cont", "id": 2})" "\n");
  EXPECT_EQ(c->json()["event"], "STOP");
  EXPECT_EQ(c->json()["id"], 1);
  EXPECT_EQ(c->json()["event"], "RESUME");
  EXPECT_EQ(c->json()["id"], 2);
}

TEST_F(QmpServerTest, MigrationEventsOnlyWithTheEventsCapability) {
  auto c = negotiated();
  server_->migration_status_changed(MigrationStatus::kSetup);
  c->send(R"({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}})" "\n");
  EXPECT_EQ(c->json(), Json({{"return", Json::object()}}));  // no MIGRATION before it
  server_->migration_status_changed(MigrationStatus::kActive);
  server_->migration_status_changed(MigrationStatus::kCompleted);
  Json active = c->json();
  EXPECT_EQ(active["event"], "MIGRATION");
  EXPECT_EQ(active["data"], Json({{"status", "active"}}));
  EXPECT_EQ(c->json()["data"]["status"], "completed");
}

TEST_F(QmpServerTest, QuitRepliesAfterTheShutdownEvent) {
  auto c = negotiated();
  c->send(R"({"execute": "quit", "id": "q"})" "\n");
  EXPECT_EQ(c->json()["event"], "SHUTDOWN");
  EXPECT_EQ(c->json()["id"], "q");
  EXPECT_EQ(backend_.calls(), std::vector<std::string>({"quit"}));
}

TEST_F(QmpServerTest, SocketIsPrivateToItsOwner) {
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(QmpServerTest, SocketFileIsRemovedOnDestruction) {
  stop();
  struct stat st {};
  EXPECT_NE(::stat(path_.c_str(), &st), 0);
}

TEST_F(QmpServerTest, StaleSocketFileIsReplaced) {
  stop();
  // What a crashed process leaves: a bound socket file nobody listens on.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  start();
  auto c = negotiated();
  EXPECT_TRUE(c->connected());
}

TEST_F(QmpServerTest, SocketInUseIsNotStolen) {
  test::FakeBackend other;
  auto second = QmpServer::start(path_, other);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos) << second.error().message();
  auto c = negotiated();  // the first server still owns the path
  EXPECT_TRUE(c->connected());
}

TEST_F(QmpServerTest, NonSocketFileIsNeverDeleted) {
  std::string file = dir_.file("regular");
  std::ofstream(file) << "keep me";
  test::FakeBackend other;
  auto server = QmpServer::start(file, other);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message().find("not a socket"), std::string::npos);
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST_F(QmpServerTest, OversizedRequestGetsAnErrorAndTheConnectionCloses) {
  stop();
  start({.max_request = 1024});
  auto c = negotiated();
  c->send("{\"execute\": \"" + std::string(4096, 'x'));
  Json reply = c->json();
  EXPECT_EQ(reply["error"]["class"], "GenericError");
  EXPECT_TRUE(c->closed_by_peer());
  auto d = negotiated();  // the server is fine
  EXPECT_TRUE(d->connected());
}

TEST_F(QmpServerTest, ConnectionsBeyondTheLimitAreClosed) {
  stop();
  start({.max_clients = 2});
  auto a = negotiated();
  auto b = negotiated();
  RawConnection c(path_);
  EXPECT_TRUE(c.closed_by_peer());
}

}  // namespace
}  // namespace vmm::qmp
