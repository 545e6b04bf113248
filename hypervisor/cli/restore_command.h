// `vmm restore`: a new VMM process from a snapshot file.
#pragma once

namespace vmm::cli {

int restore_command(int argc, char** argv);

}  // namespace vmm::cli
