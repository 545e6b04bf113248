// `vmm inspect FILE [--json]`: describe a snapshot file and verify every
// checksum in it (exit 0 valid, 1 bad file, 2 bad command line).
#pragma once

namespace vmm::cli {

int inspect_command(int argc, char** argv);

}  // namespace vmm::cli
