#include "hypervisor/cli/qmp_command.h"

#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/exit_status.h"
#include "hypervisor/qmp/json_splitter.h"
#include "hypervisor/qmp/qmp_client.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::cli {
namespace {

constexpr const char* kCommand = "vmm qmp";

constexpr const char* kHelp = R"(Usage: vmm qmp SOCKET JSON [--timeout SECONDS]

Sends one QMP command to the control socket SOCKET (of `vmm run --api`, or
of QEMU's `-qmp unix:SOCKET,server=on,wait=off`) and prints the reply as
one JSON line. Capabilities are negotiated first unless JSON is itself
qmp_capabilities. Events that arrive before the reply are not printed.

  vmm qmp /tmp/vm.sock '{"execute": "query-status"}'

Options:
  --timeout SECONDS  how long to wait for the reply (default 30)
  -h, --help         show this help

Exit status:
  0   the reply was {"return": ...}
  1   the reply was {"error": ...}, or no reply (the message says why)
  2   bad command line
)";

// True when the text is {"execute": "qmp_capabilities", ...}: the user
// negotiates, so we must not do it first.
bool is_qmp_capabilities(const std::string& text) {
  std::vector<std::string> values;
  qmp::JsonSplitter splitter;
  (void)splitter.feed(text + "\n", values);  // also normalises QEMU's single quotes
  if (values.size() != 1) return false;
  Result<qmp::Json> request = qmp::parse_request(values[0]);
  if (!request || !request->is_object()) return false;
  auto it = request->find("execute");
  return it != request->end() && it->is_string() && it->get<std::string>() == "qmp_capabilities";
}

int fail(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", kCommand, message.c_str());
  return hv::kExitError;
}

}  // namespace

int qmp_command(int argc, char** argv) {
  static const option kOptions[] = {
      {"timeout", required_argument, nullptr, 't'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  std::chrono::milliseconds timeout = qmp::QmpClient::kDefaultTimeout;
  opterr = 0;
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 't': {
        char* end = nullptr;
        double seconds = std::strtod(optarg, &end);
        if (*optarg == '\0' || *end != '\0' || !(seconds > 0) || seconds > 86400) {
          return usage_error(kCommand, std::string("invalid --timeout '") + optarg + "'");
        }
        timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
        break;
      }
      case 'h': std::fputs(kHelp, stdout); return 0;
      case ':': return usage_error(kCommand, std::string("option ") + argv[optind - 1] + " needs a value");
      default: return usage_error(kCommand, std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (argc - optind < 2) return usage_error(kCommand, argc - optind == 0 ? "missing SOCKET and JSON" : "missing JSON");
  if (argc - optind > 2) return usage_error(kCommand, std::string("unexpected argument '") + argv[optind + 2] + "'");
  std::string path = argv[optind];
  std::string text = argv[optind + 1];
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return usage_error(kCommand, "JSON is empty");

  auto client = qmp::QmpClient::connect(path, timeout);
  if (!client) return fail(client.error().message());
  if (!is_qmp_capabilities(text)) {
    if (auto negotiated = client->negotiate(); !negotiated) {
      return fail("capabilities negotiation failed: " + negotiated.error().message());
    }
  }
  // Sent exactly as given, so what QEMU or vmm answers is what the user
  // asked, mistakes included.
  auto reply = client->transact_raw(text);
  if (!reply) return fail(reply.error().message());
  std::printf("%s\n", reply->c_str());
  std::fflush(stdout);
  auto parsed = qmp::parse_reply(*reply);
  bool ok = parsed && parsed->is_object() && parsed->contains("return");
  return ok ? 0 : hv::kExitError;
}

}  // namespace vmm::cli
