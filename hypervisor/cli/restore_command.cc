#include "hypervisor/cli/restore_command.h"

#include <getopt.h>

#include <cstdio>
#include <string>

#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/machine.h"

namespace vmm::cli {
namespace {

constexpr const char* kCommand = "vmm restore";

constexpr const char* kHelp = R"(Usage: vmm restore FILE [options]

Starts a new VMM process from a snapshot file; the guest continues where it
was. The file describes the whole machine, so no other flags are needed.

Options:
  --api SOCK        a QMP control socket at SOCK
  --paused          stay paused until QMP `cont`
  --console WHERE   stdio (default) or a file to append the console output to
  --eager           read all guest memory now (default: map the file and let
                    pages load on first touch; lz4 files are always read now)
  --clock POLICY    continue (default): guest time continues from the snapshot
                    instant; host: guest clocks (kvmclock, RTC) move forward by
                    the wall-clock time since the snapshot was taken
  -h, --help        show this help

Exit status: as `vmm run` (see vmm run --help); 1 with a one-line message
when the file cannot be restored.
)";

}  // namespace

int restore_command(int argc, char** argv) {
  static const option kOptions[] = {
      {"api", required_argument, nullptr, 's'},     {"paused", no_argument, nullptr, 'p'},
      {"console", required_argument, nullptr, 'o'}, {"eager", no_argument, nullptr, 'e'},
      {"clock", required_argument, nullptr, 'c'},   {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  hv::RestoreConfig config;
  if (const char* kvm = std::getenv("VMM_KVM_DEVICE")) config.kvm_path = kvm;
  opterr = 0;
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 's': config.api_socket = optarg; break;
      case 'p': config.paused = true; break;
      case 'e': config.eager = true; break;
      case 'o':
        if (std::string(optarg) != "stdio") config.console.output_file = optarg;
        break;
      case 'c':
        if (std::string(optarg) == "continue") {
          config.clock = hv::ClockPolicy::kContinue;
        } else if (std::string(optarg) == "host") {
          config.clock = hv::ClockPolicy::kHost;
        } else {
          return usage_error(kCommand, std::string("--clock must be 'continue' or 'host', not '") + optarg + "'");
        }
        break;
      case 'h': std::fputs(kHelp, stdout); return 0;
      case ':': return usage_error(kCommand, std::string("option ") + argv[optind - 1] + " needs a value");
      default: return usage_error(kCommand, std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (optind == argc) return usage_error(kCommand, "missing snapshot FILE");
  if (optind + 1 < argc) return usage_error(kCommand, std::string("unexpected argument '") + argv[optind + 1] + "'");
  config.snapshot_path = argv[optind];

  auto machine = hv::Machine::restore(config);
  if (!machine) {
    std::fprintf(stderr, "vmm: %s\n", machine.error().message().c_str());
    return hv::kExitError;
  }
  if (!config.paused) {
    if (auto resumed = (*machine)->resume(); !resumed) {
      std::fprintf(stderr, "vmm: restore %s: %s\n", config.snapshot_path.c_str(), resumed.error().message().c_str());
      return hv::kExitError;
    }
  }
  return (*machine)->run();
}

}  // namespace vmm::cli
