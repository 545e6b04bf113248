// QmpClient against the real server, and against servers that misbehave.
#include "hypervisor/qmp/qmp_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "hypervisor/qmp/qmp_server.h"
#include "hypervisor/qmp/qmp_session.h"
#include "tests/unit/qmp/fake_backend.h"
#include "tests/unit/qmp/test_socket.h"

namespace vmm::qmp {
namespace {

using namespace std::chrono_literals;

class QmpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = QmpServer::start(path_, backend_);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(server).value();
    backend_.attach(server_.get());
  }
  void TearDown() override {
    backend_.attach(nullptr);
    server_.reset();
  }
  QmpClient connected() {
    auto client = QmpClient::connect(path_, 5s);
    EXPECT_TRUE(client) << client.error().message();
    EXPECT_TRUE(client->negotiate());
    return std::move(client).value();
  }

  test::TempDir dir_;
  std::string path_ = dir_.file("qmp.sock");
  test::FakeBackend backend_;
  std::unique_ptr<QmpServer> server_;
};

TEST_F(QmpClientTest, ReadsTheGreeting) {
  auto client = QmpClient::connect(path_, 5s);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->greeting()["QMP"]["version"]["qemu"]["major"], 7);
}

TEST_F(QmpClientTest, ExecuteReturnsTheReturnValue) {
  QmpClient client = connected();
  auto status = client.execute("query-status");
  ASSERT_TRUE(status) << status.error().message();
  EXPECT_EQ((*status)["status"], "running");
  auto none = client.execute("migrate-set-parameters", {{"max-bandwidth", 1}});
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, Json::object());
}

TEST_F(QmpClientTest, ErrorRepliesCarryClassAndDesc) {
  QmpClient client = connected();
  auto missing = client.execute("no-such");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::kUnsupported);
  EXPECT_EQ(missing.error().message(), "The command no-such has not been found");
  ASSERT_TRUE(client.last_error());
  EXPECT_EQ(client.last_error()->error_class, "CommandNotFound");
  auto bad = client.execute("query-status", {{"x", 1}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(client.last_error()->error_class, "GenericError");
  EXPECT_EQ(client.last_error()->desc, "Parameter 'x' is unexpected");
  EXPECT_TRUE(client.execute("query-status"));
  EXPECT_FALSE(client.last_error());
}

TEST_F(QmpClientTest, NotNegotiatedCommandsFailWithCommandNotFound) {
  auto client = QmpClient::connect(path_, 5s);
  ASSERT_TRUE(client);
  EXPECT_FALSE(client->execute("query-status"));
  EXPECT_EQ(client->last_error()->desc, "Expecting capabilities negotiation with 'qmp_capabilities'");
}

TEST_F(QmpClientTest, EventsArrivingDuringACommandAreKept) {
  QmpClient client = connected();
  ASSERT_TRUE(client.execute("stop"));
  ASSERT_TRUE(client.execute("cont"));
  std::vector<Json> events = client.take_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["event"], "STOP");
  EXPECT_EQ(events[1]["event"], "RESUME");
  EXPECT_TRUE(client.take_events().empty());
}

TEST_F(QmpClientTest, WaitEventReturnsQueuedOrLaterEvents) {
  QmpClient client = connected();
  ASSERT_TRUE(client.execute("stop"));
  std::thread later([this] {
    std::this_thread::sleep_for(100ms);
    server_->emit("SHUTDOWN", {{"guest", true}, {"reason", "guest-shutdown"}});
  });
  auto shutdown = client.wait_event("SHUTDOWN", 5s);
  later.join();
  ASSERT_TRUE(shutdown) << shutdown.error().message();
  EXPECT_EQ((*shutdown)["data"]["reason"], "guest-shutdown");
  auto stop = client.wait_event("STOP", 1s);  // received during execute
  ASSERT_TRUE(stop);
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(client.wait_event("NEVER", 150ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_F(QmpClientTest, TransactRawReturnsTheLineAsSent) {
  QmpClient client = connected();
  auto reply = client.transact_raw("{ \"execute\": }");
  ASSERT_TRUE(reply);
  EXPECT_EQ(*reply, R"({"error": {"class": "GenericError", "desc": "JSON parse error, expecting value"}})");
}

TEST_F(QmpClientTest, ConnectingToNothingFailsAtOnce) {
  auto client = QmpClient::connect(dir_.file("absent.sock"), 5s);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().sys_errno(), ENOENT);
}

TEST(QmpClientDeadlines, SilentServerTimesOutInsteadOfHanging) {
  test::TempDir dir;
  std::string path = dir.file("silent.sock");
  // Listens (so connect succeeds from the backlog) but never says a word.
  auto socket = listen_unix(path);
  ASSERT_TRUE(socket);
  auto start = std::chrono::steady_clock::now();
  auto client = QmpClient::connect(path, 200ms);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().sys_errno(), ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(QmpClientDeadlines, ServerThatNeverRepliesTimesOut) {
  test::TempDir dir;
  std::string path = dir.file("mute.sock");
  auto socket = listen_unix(path);
  ASSERT_TRUE(socket);
  std::thread server([&] {
    pollfd pfd{socket->fd.get(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    UniqueFd fd(::accept4(socket->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string greeting = QmpSession::greeting() + "\r\n";
    (void)send_some(fd.get(), greeting);
    std::this_thread::sleep_for(600ms);  // reads nothing, answers nothing
  });
  auto client = QmpClient::connect(path, 2s);
  ASSERT_TRUE(client) << client.error().message();
  client->set_timeout(150ms);
  auto reply = client->execute("qmp_capabilities");
  server.join();
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().sys_errno(), ETIMEDOUT);
}

TEST(QmpClientDeadlines, ServerHangingUpIsAnError) {
  test::TempDir dir;
  std::string path = dir.file("gone.sock");
  auto socket = listen_unix(path);
  ASSERT_TRUE(socket);
  std::thread server([&] {
    pollfd pfd{socket->fd.get(), POLLIN, 0};
    ::poll(&pfd, 1, 5000);
    UniqueFd fd(::accept4(socket->fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    (void)send_some(fd.get(), QmpSession::greeting() + "\r\n");
  });
  auto client = QmpClient::connect(path, 2s);
  server.join();  // the server has hung up
  ASSERT_TRUE(client) << client.error().message();
  auto reply = client->execute("qmp_capabilities");
  ASSERT_FALSE(reply);
  EXPECT_NE(reply.error().message().find("closed"), std::string::npos) << reply.error().message();
}

}  // namespace
}  // namespace vmm::qmp
