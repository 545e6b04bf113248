// `vmm run`: boot a guest with the console on the terminal.
#pragma once

namespace vmm::cli {

int run_command(int argc, char** argv);

}  // namespace vmm::cli
