// VcpuExit: why KVM_RUN returned, as a typed value. kvm_run is parsed and
// bounds-checked in exactly one place (Vcpu::parse_exit), so no other code
// reads the shared kvm_run page.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>

namespace vmm::hv::exit {

// Port I/O. `data` holds size*count bytes (count > 1 for rep ins/outs).
struct Io {
  uint16_t port;
  uint8_t size;
  uint32_t count;
  bool is_write;
  std::span<uint8_t> data;
};
struct Mmio {
  uint64_t gpa;
  bool is_write;
  std::span<uint8_t> data;
};
struct Hlt {};
// Triple fault (KVM_EXIT_SHUTDOWN).
struct Shutdown {};
// KVM_EXIT_SYSTEM_EVENT: the guest asked for power-off, reset or crash.
struct SystemEvent {
  uint32_t type;
};
// KVM_EXIT_INTERNAL_ERROR: KVM could not emulate or deliver something.
struct InternalError {
  uint32_t suberror;
};
// KVM_EXIT_FAIL_ENTRY: the CPU refused the guest state.
struct FailEntry {
  uint64_t reason;
};
// KVM_RUN returned EINTR: a kick (pause, stop) or immediate_exit.
struct Interrupted {};
struct Unknown {
  uint32_t reason;
};

}  // namespace vmm::hv::exit

namespace vmm::hv {

using VcpuExit = std::variant<exit::Io, exit::Mmio, exit::Hlt, exit::Shutdown, exit::SystemEvent,
                              exit::InternalError, exit::FailEntry, exit::Interrupted, exit::Unknown>;

}  // namespace vmm::hv
