// How `vmm` ends, as a process exit status. Debug-exit statuses are always
// odd ((v << 1) | 1, QEMU's isa-debug-exit convention), so the VMM's own
// outcomes use 0 and even numbers and can never be mistaken for a guest verdict
// (except the guest writing 0, which reads as 1, exactly as under QEMU).
#pragma once

namespace vmm::hv {

enum ExitStatus : int {
  kExitPoweroff = 0,        // the guest powered off, or the user quit from the console
  kExitError = 1,           // vmm failed at run time (message on stderr)
  kExitUsage = 2,           // bad command line
  kExitGuestReset = 4,      // the guest asked for a reset (i8042 0xFE, KVM reset event)
  kExitTripleFault = 6,     // KVM_EXIT_SHUTDOWN
  kExitKvmError = 8,        // KVM internal error, entry failure or an unknown exit
  kExitSignalBase = 128,    // 128 + N: stopped by signal N (SIGINT, SIGTERM)
};

}  // namespace vmm::hv
