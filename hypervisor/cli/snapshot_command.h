// `vmm snapshot`: pause a guest and write one self-contained snapshot file,
// through the guest's QMP socket.
#pragma once

namespace vmm::cli {

int snapshot_command(int argc, char** argv);

}  // namespace vmm::cli
