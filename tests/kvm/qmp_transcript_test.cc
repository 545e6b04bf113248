// QMP transcript: one client script against QEMU and against vmm; the
// replies must have the same shapes (keys, JSON kinds, error classes, run
// states, event names). The script speaks raw bytes on its own socket so
// it depends on neither side's client code; `vmm qmp` is then checked
// against both servers too.
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/kvm/kvm_test_support.h"
#include "tests/fakes/temp_dir.h"

namespace vmm::test {
namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;

constexpr const char* kQemu = "/usr/bin/qemu-system-x86_64";

// The script: request texts sent exactly as written.
const std::vector<std::string> kScript = {
    R"({"execute": "query-status", "id": 1})",  // before negotiation
    R"({"execute": "qmp_capabilities", "id": 2})",
    R"({"execute": "query-version", "id": 3})",
    R"({"execute": "query-status", "id": 4})",
    R"({"execute": "stop", "id": 5})",
    R"({"execute": "query-status", "id": 6})",
    R"({"execute": "cont", "id": 7})",
    R"({"execute": "query-status", "id": 8})",
    R"({"execute": "query-migrate", "id": 9})",
    R"({"execute": "query-migrate-capabilities", "id": 10})",
    R"({"execute": "no-such-command", "id": 11})",
    R"({"execute": "query-status", "arguments": {"bogus": 1}, "id": 12})",
    R"({"execute": "migrate", "arguments": {"uri": 5}, "id": 13})",
    R"({ "execute": })",  // malformed: the reply has no id
};

using vmm::test::TempDir;

// A bare QMP connection: send text, read lines with a deadline.
class Wire {
 public:
  explicit Wire(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return;
      ::close(fd_);
      fd_ = -1;
      std::this_thread::sleep_for(20ms);
    }
  }
  ~Wire() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }
  void send(const std::string& text) {
    std::string line = text + "\n";
    [[maybe_unused]] ssize_t n = ::send(fd_, line.data(), line.size(), MSG_NOSIGNAL);
  }
  // The next message that is not an event; events on the way go to `events`.
  Json reply(std::vector<Json>& events) {
    while (auto line = next_line()) {
      Json message = Json::parse(*line, nullptr, false);
      if (message.is_object() && message.contains("event")) {
        events.push_back(message);
        continue;
      }
      return message;
    }
    return Json();
  }

 private:
  std::optional<std::string> next_line() {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (true) {
      if (size_t nl = in_.find('\n'); nl != std::string::npos) {
        std::string line = in_.substr(0, nl);
        in_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd pfd{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  int fd_ = -1;
  std::string in_;
};

// What must match: keys and JSON kinds everywhere, plus the values that
// name outcomes (error class, run state, event, capability names).
Json shape(const Json& value, const std::string& key = "") {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) {
      if (k.rfind("x-vmm-", 0) == 0) continue;  // vmm's documented extensions
      out[k] = shape(v, k);
    }
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& v : value) out.push_back(shape(v, key));
    return out;
  }
  if (value.is_string() && (key == "class" || key == "status" || key == "event" || key == "capability")) return value;
  if (value.is_number()) return "number";
  return value.type_name();
}

struct Transcript {
  Json greeting;
  std::vector<Json> replies;
  std::vector<std::vector<Json>> events;  // per step
};

Transcript run_script(const std::string& socket) {
  Transcript t;
  Wire wire(socket);
  if (!wire.connected()) return t;
  std::vector<Json> none;
  t.greeting = wire.reply(none);
  for (const std::string& request : kScript) {
    wire.send(request);
    std::vector<Json> events;
    t.replies.push_back(wire.reply(events));
    t.events.push_back(events);
  }
  return t;
}

std::vector<std::string> event_names(const std::vector<Json>& events) {
  std::vector<std::string> out;
  for (const Json& e : events) out.push_back(e.value("event", ""));
  return out;
}

bool wait_for_socket(const std::string& path) {
  for (int i = 0; i < 500; ++i) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

class QmpAgainstQemu : public KvmTest {
 protected:
  void SetUp() override {
    KvmTest::SetUp();
    if (IsSkipped()) return;
    if (access(kQemu, X_OK) != 0) GTEST_SKIP() << "QEMU is not installed (apt-get install qemu-system-x86)";
  }
  // QEMU microvm with the test guest counting, as in qemu_test.cc.
  std::unique_ptr<VmmProcess> start_qemu(const std::string& socket) {
    auto qemu = std::make_unique<VmmProcess>(std::vector<std::string>{
        kQemu, "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", "256M", "-smp", "1",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel",
        testguest_elf(), "-append", "counter", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-qmp",
        "unix:" + socket + ",server=on,wait=off"});
    EXPECT_TRUE(qemu->wait_for_line("TG counter")) << qemu->output() << qemu->errors();
    return qemu;
  }
  // vmm with the control socket, or nullptr (and a skip) while `vmm run`
  // has no --api.
  std::unique_ptr<VmmProcess> start_vmm(const std::string& socket) {
    auto vmm = std::make_unique<VmmProcess>(vmm_run_args("counter", {"--api", socket}));
    if (!vmm->wait_for_line("TG counter")) {
      if (vmm->wait_exit(5s) == 2) {
        vmm_missing_api_ = true;
        return nullptr;
      }
      ADD_FAILURE() << "vmm did not start the guest: " << vmm->output() << vmm->errors();
      return nullptr;
    }
    return vmm;
  }

  TempDir dir_;
  bool vmm_missing_api_ = false;
};

// The script's assumptions hold for QEMU itself (so a vmm mismatch below is
// vmm's fault, not the script's).
TEST_F(QmpAgainstQemu, QemuAnswersTheScriptAsRecorded) {
  std::string socket = dir_.file("qemu.sock");
  auto qemu = start_qemu(socket);
  ASSERT_TRUE(wait_for_socket(socket));
  Transcript t = run_script(socket);
  ASSERT_EQ(t.replies.size(), kScript.size());
  EXPECT_EQ(t.greeting["QMP"]["capabilities"], Json::array({"oob"}));
  EXPECT_EQ(t.replies[0]["error"]["class"], "CommandNotFound");
  EXPECT_EQ(t.replies[1]["return"], Json::object());
  EXPECT_EQ(t.replies[3]["return"]["status"], "running");
  EXPECT_EQ(event_names(t.events[4]), std::vector<std::string>({"STOP"}));
  EXPECT_EQ(t.replies[5]["return"]["status"], "paused");
  EXPECT_EQ(event_names(t.events[6]), std::vector<std::string>({"RESUME"}));
  EXPECT_EQ(t.replies[8]["return"], Json::object());
  EXPECT_EQ(t.replies[10]["error"]["class"], "CommandNotFound");
  EXPECT_EQ(t.replies[11]["error"]["desc"], "Parameter 'bogus' is unexpected");
  EXPECT_EQ(t.replies[13]["error"]["class"], "GenericError");
  EXPECT_FALSE(t.replies[13].contains("id"));
}

TEST_F(QmpAgainstQemu, VmmRepliesHaveQemusShapes) {
  std::string qemu_socket = dir_.file("qemu.sock");
  std::string vmm_socket = dir_.file("vmm.sock");
  auto vmm = start_vmm(vmm_socket);
  if (vmm_missing_api_) GTEST_SKIP() << "vmm run has no --api yet";
  ASSERT_TRUE(vmm);
  ASSERT_TRUE(wait_for_socket(vmm_socket));
  Transcript mine = run_script(vmm_socket);
  auto qemu = start_qemu(qemu_socket);
  ASSERT_TRUE(wait_for_socket(qemu_socket));
  Transcript theirs = run_script(qemu_socket);
  ASSERT_EQ(mine.replies.size(), kScript.size()) << vmm->errors();
  ASSERT_EQ(theirs.replies.size(), kScript.size()) << qemu->errors();
  EXPECT_EQ(shape(mine.greeting), shape(theirs.greeting));
  for (size_t i = 0; i < kScript.size(); ++i) {
    EXPECT_EQ(shape(mine.replies[i]), shape(theirs.replies[i]))
        << kScript[i] << "\n  vmm:  " << mine.replies[i].dump() << "\n  QEMU: " << theirs.replies[i].dump();
    EXPECT_EQ(event_names(mine.events[i]), event_names(theirs.events[i])) << kScript[i];
    for (size_t e = 0; e < std::min(mine.events[i].size(), theirs.events[i].size()); ++e) {
      EXPECT_EQ(shape(mine.events[i][e]), shape(theirs.events[i][e])) << kScript[i];
    }
  }
}

struct CliResult {
  int status;
  std::string out, err;
};

CliResult vmm_qmp(const std::string& socket, const std::string& json) {
  VmmProcess p({vmm_binary(), "qmp", socket, json, "--timeout", "10"});
  int status = p.wait_exit();
  return {status, p.output(), p.errors()};
}

void check_cli(const std::string& socket) {
  CliResult ok = vmm_qmp(socket, R"({"execute": "query-status"})");
  EXPECT_EQ(ok.status, 0) << ok.err;
  Json reply = Json::parse(ok.out, nullptr, false);
  EXPECT_EQ(reply["return"]["status"], "running") << ok.out;
  EXPECT_EQ(std::count(ok.out.begin(), ok.out.end(), '\n'), 1) << ok.out;

  CliResult unknown = vmm_qmp(socket, R"({"execute": "no-such-command"})");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_EQ(Json::parse(unknown.out, nullptr, false)["error"]["class"], "CommandNotFound") << unknown.out;

  CliResult own = vmm_qmp(socket, R"({"execute": "qmp_capabilities", "id": "mine"})");
  EXPECT_EQ(own.status, 0) << own.err;
  EXPECT_EQ(Json::parse(own.out, nullptr, false)["id"], "mine") << own.out;

  CliResult quoted = vmm_qmp(socket, "{'execute': 'query-version'}");
  EXPECT_EQ(quoted.status, 0) << quoted.err;

  CliResult malformed = vmm_qmp(socket, R"({ "execute": })");
  EXPECT_EQ(malformed.status, 1);
  EXPECT_EQ(Json::parse(malformed.out, nullptr, false)["error"]["class"], "GenericError") << malformed.out;
}

TEST_F(QmpAgainstQemu, VmmQmpCommandDrivesQemu) {
  std::string socket = dir_.file("qemu.sock");
  auto qemu = start_qemu(socket);
  ASSERT_TRUE(wait_for_socket(socket));
  check_cli(socket);
}

TEST_F(QmpAgainstQemu, VmmQmpCommandDrivesVmm) {
  std::string socket = dir_.file("vmm.sock");
  auto vmm = start_vmm(socket);
  if (vmm_missing_api_) GTEST_SKIP() << "vmm run has no --api yet";
  ASSERT_TRUE(vmm);
  ASSERT_TRUE(wait_for_socket(socket));
  check_cli(socket);
}

// No server at all: one line on stderr, status 1; a bad command line: 2.
TEST(VmmQmpCommand, ConnectionFailureAndUsageErrors) {
  CliResult absent = vmm_qmp("/nonexistent/vmm.sock", R"({"execute": "query-status"})");
  EXPECT_EQ(absent.status, 1);
  EXPECT_EQ(std::count(absent.err.begin(), absent.err.end(), '\n'), 1) << absent.err;
  EXPECT_TRUE(absent.out.empty());
  VmmProcess usage({vmm_binary(), "qmp", "/tmp/only-a-socket"});
  EXPECT_EQ(usage.wait_exit(), 2);
}

}  // namespace
}  // namespace vmm::test
