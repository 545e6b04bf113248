// The snapshot is taken with QEMU's own verbs, so this is an ordinary QMP
// client: stop (the instant of the snapshot), migrate to "file:PATH", wait
// for the MIGRATION event, then cont if asked to (or if the guest was
// running and the snapshot failed: a failed snapshot never stops a guest).
#include "hypervisor/cli/snapshot_command.h"

#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/exit_status.h"
#include "hypervisor/qmp/qmp_client.h"

namespace vmm::cli {
namespace {

constexpr const char* kCommand = "vmm snapshot";

constexpr const char* kHelp = R"(Usage: vmm snapshot --api SOCK -o FILE [options]

Pauses the guest behind the QMP socket SOCK and writes one self-contained
snapshot file (FILE.tmp, fsynced, renamed; mode 0600). The guest then stays
paused, as QEMU leaves it after a migration, unless --resume is given.

Options:
  --api SOCK        the guest's QMP socket (vmm run/restore --api)
  -o, --output FILE the snapshot file
  --resume          let the guest run on once the file is written
  --compress lz4    compress memory with lz4 (smaller file, slower)
  --no-fsync        do not wait for the file to reach the disk (faster; a
                    host crash soon after may lose it)
  -h, --help        show this help

Exit status: 0 written; 1 failed (one-line message; a guest that was running
runs again); 2 bad command line.
)";

int fail(const std::string& message) {
  std::fprintf(stderr, "vmm: snapshot: %s\n", message.c_str());
  return hv::kExitError;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int snapshot_command(int argc, char** argv) {
  static const option kOptions[] = {
      {"api", required_argument, nullptr, 's'},      {"output", required_argument, nullptr, 'o'},
      {"resume", no_argument, nullptr, 'r'},         {"compress", required_argument, nullptr, 'c'},
      {"no-fsync", no_argument, nullptr, 'n'},
      {"help", no_argument, nullptr, 'h'},           {nullptr, 0, nullptr, 0},
  };
  std::string socket, output;
  bool resume = false, lz4 = false, fsync = true;
  opterr = 0;
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":ho:", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 's': socket = optarg; break;
      case 'o': output = optarg; break;
      case 'r': resume = true; break;
      case 'c':
        if (std::string(optarg) != "lz4") return usage_error(kCommand, std::string("unknown --compress '") + optarg + "'");
        lz4 = true;
        break;
      case 'n': fsync = false; break;
      case 'h': std::fputs(kHelp, stdout); return 0;
      case ':': return usage_error(kCommand, std::string("option ") + argv[optind - 1] + " needs a value");
      default: return usage_error(kCommand, std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (optind < argc) return usage_error(kCommand, std::string("unexpected argument '") + argv[optind] + "'");
  if (socket.empty()) return usage_error(kCommand, "--api is required");
  if (output.empty()) return usage_error(kCommand, "-o FILE is required");
  // The VMM process may have another working directory.
  if (output[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return fail("cannot resolve " + output);
    output = std::string(cwd) + "/" + output;
  }

  auto client = qmp::QmpClient::connect(socket);
  if (!client) return fail(client.error().message());
  if (auto r = client->negotiate(); !r) return fail(r.error().message());
  auto status = client->execute("query-status");
  if (!status) return fail(status.error().message());
  bool was_running = (*status)["running"].get<bool>();
  if (auto r = client->execute("migrate-set-capabilities",
                               {{"capabilities", qmp::Json::array({{{"capability", "events"}, {"state", true}}})}});
      !r) {
    return fail(r.error().message());
  }
  if (auto r = client->execute("migrate-set-parameters", {{"x-vmm-compress", lz4 ? "lz4" : "none"}, {"x-vmm-fsync", fsync}}); !r) {
    return fail(r.error().message());
  }

  auto start = std::chrono::steady_clock::now();
  auto recover = [&](const std::string& message) {
    if (was_running) (void)client->execute("cont");
    return fail(message);
  };
  if (auto r = client->execute("stop"); !r) return recover(r.error().message());
  if (auto r = client->execute("migrate", {{"uri", "file:" + output}}); !r) return recover(r.error().message());

  bool tty = isatty(STDERR_FILENO);
  std::string final_status;
  while (final_status.empty()) {
    // Waits for the MIGRATION event; on a terminal, shows progress meanwhile.
    auto event = client->wait_event("MIGRATION", std::chrono::milliseconds(tty ? 250 : 600000));
    if (event) {
      std::string s = (*event)["data"]["status"].get<std::string>();
      if (s == "completed" || s == "failed" || s == "cancelled") final_status = s;
      continue;
    }
    if (!tty) return recover("no answer from the VMM: " + event.error().message());
    auto info = client->execute("query-migrate");
    if (!info) return recover(info.error().message());
    if (info->contains("ram")) {
      double done = (*info)["ram"]["transferred"].get<double>(), total = (*info)["ram"]["total"].get<double>();
      std::fprintf(stderr, "\rsnapshot: %.0f / %.0f MiB", done / (1 << 20), total / (1 << 20));
    }
  }
  if (tty) std::fprintf(stderr, "\r\033[K");
  auto info = client->execute("query-migrate");
  if (final_status != "completed") {
    std::string why = info && info->contains("error-desc") ? (*info)["error-desc"].get<std::string>() : final_status;
    return recover(why);
  }
  double elapsed = ms_since(start);
  if (resume) {
    if (auto r = client->execute("cont"); !r) return fail("written, but the guest did not resume: " + r.error().message());
  }
  // Zero pages are holes: what the file holds is what it occupies on disk.
  struct stat st {};
  double on_disk = stat(output.c_str(), &st) == 0 ? static_cast<double>(st.st_blocks) * 512 : 0;
  std::printf("snapshot: %s written in %.1f ms (%.1f MiB on disk); the guest is %s\n", output.c_str(), elapsed,
              on_disk / (1 << 20), resume ? "running" : "paused");
  return 0;
}

}  // namespace vmm::cli
