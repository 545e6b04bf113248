#include "hypervisor/cli/run_command.h"

#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "hypervisor/boot/x86_layout.h"
#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/machine.h"

namespace vmm::cli {
namespace {

constexpr const char* kCommand = "vmm run";

constexpr const char* kHelp = R"(Usage: vmm run --kernel FILE [options]

Boots a guest. Its first serial port (COM1) is the console: the terminal in
raw mode when stdin is a TTY (type Ctrl-A x to quit), else stdin and stdout.

Options:
  --kernel FILE     the kernel: an ELF with a PVH entry note (PVH boot), a
                    64-bit vmlinux or a bzImage (Linux boot protocol)
  --initrd FILE     an initial ramdisk (a PVH module, or the zero page's ramdisk)
  --append TEXT     the kernel command line
  --memory SIZE     guest RAM, e.g. 256M, 2G (default 256M; plain numbers are MiB)
  --cpus N          number of vCPUs (default 1; at most what KVM allows)
  --console WHERE   stdio (default) or a file to append the console output to
  --api SOCK        a QMP control socket (QEMU's protocol) at SOCK, mode 0600
  -h, --help        show this help

Environment:
  VMM_KVM_DEVICE    the KVM device node (default /dev/kvm)

Exit status:
  0   the guest powered off, or Ctrl-A x
  1   vmm failed (the message says why)
  2   bad command line
  4   the guest asked for a reset (i8042 reset command)
  6   the guest triple-faulted
  8   KVM could not run the guest (internal error, entry failure)
  odd (v<<1)|1 when the guest wrote v to the debug-exit port 0xf4 (as QEMU's isa-debug-exit)
  128+N stopped by signal N
)";

}  // namespace

int run_command(int argc, char** argv) {
  static const option kOptions[] = {
      {"kernel", required_argument, nullptr, 'k'}, {"initrd", required_argument, nullptr, 'i'},
      {"append", required_argument, nullptr, 'a'}, {"memory", required_argument, nullptr, 'm'},
      {"cpus", required_argument, nullptr, 'c'},   {"console", required_argument, nullptr, 'o'},
      {"api", required_argument, nullptr, 's'},    {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  hv::MachineConfig config;
  // For tests of a missing or inaccessible device; documented in --help.
  if (const char* kvm = std::getenv("VMM_KVM_DEVICE")) config.kvm_path = kvm;
  opterr = 0;
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 'k': config.kernel_path = optarg; break;
      case 'i': config.initrd_path = optarg; break;
      case 'a': config.cmdline = optarg; break;
      case 'm':
        config.mem_bytes = parse_memory_size(optarg);
        if (config.mem_bytes == 0) return usage_error(kCommand, std::string("invalid --memory '") + optarg + "'");
        config.mem_bytes = (config.mem_bytes + (1u << 20) - 1) & ~uint64_t{(1u << 20) - 1};
        if (auto valid = hv::boot::validate_memory_size(config.mem_bytes); !valid) {
          return usage_error(kCommand, "--memory: " + valid.error().message());
        }
        break;
      case 'c': {
        char* end = nullptr;
        long n = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || n < 0 || n > 4096) {
          return usage_error(kCommand, std::string("invalid --cpus '") + optarg + "'");
        }
        if (n == 0) return usage_error(kCommand, "--cpus must be at least 1");
        config.cpus = static_cast<uint32_t>(n);
        break;
      }
      case 'o':
        if (std::string(optarg) != "stdio") config.console.output_file = optarg;
        break;
      case 's': config.api_socket = optarg; break;
      case 'h': std::fputs(kHelp, stdout); return 0;
      case ':': return usage_error(kCommand, std::string("option ") + argv[optind - 1] + " needs a value");
      default: return usage_error(kCommand, std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (optind < argc) return usage_error(kCommand, std::string("unexpected argument '") + argv[optind] + "'");
  if (config.kernel_path.empty()) return usage_error(kCommand, "--kernel is required");

  auto machine = hv::Machine::create(config);
  if (!machine) {
    std::fprintf(stderr, "vmm: %s\n", machine.error().message().c_str());
    return hv::kExitError;
  }
  return (*machine)->run();
}

}  // namespace vmm::cli
