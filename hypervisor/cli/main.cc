// vmm: the command-line entry point; each subcommand lives in its own file.
#include <cstdio>
#include <cstring>
#include <string>

#include "hypervisor/cli/inspect_command.h"
#include "hypervisor/cli/qmp_command.h"
#include "hypervisor/cli/restore_command.h"
#include "hypervisor/cli/run_command.h"
#include "hypervisor/cli/snapshot_command.h"
#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/machine.h"

namespace {

constexpr const char* kHelp = R"(Usage: vmm COMMAND [options]

A KVM virtual machine monitor whose snapshots capture everything the guest
can observe.

Commands:
  run       boot a guest (vmm run --help)
  snapshot  pause a guest and write a snapshot file (vmm snapshot --help)
  restore   start a guest from a snapshot file (vmm restore --help)
  inspect   describe a snapshot file and verify it (vmm inspect --help)
  qmp       send one QMP command to a control socket (vmm qmp --help)

Options:
  -h, --help      show this help
  --version       show the version
)";

}  // namespace

int main(int argc, char** argv) {
  // Before any thread exists, so every thread inherits the mask.
  vmm::hv::Machine::block_control_signals();
  if (argc < 2) return vmm::cli::usage_error("vmm", "missing command");
  std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("vmm %s\n", VMM_VERSION);
    return 0;
  }
  if (command == "run") return vmm::cli::run_command(argc - 1, argv + 1);
  if (command == "snapshot") return vmm::cli::snapshot_command(argc - 1, argv + 1);
  if (command == "restore") return vmm::cli::restore_command(argc - 1, argv + 1);
  if (command == "inspect") return vmm::cli::inspect_command(argc - 1, argv + 1);
  if (command == "qmp") return vmm::cli::qmp_command(argc - 1, argv + 1);
  return vmm::cli::usage_error("vmm", "unknown command '" + command + "'");
}
