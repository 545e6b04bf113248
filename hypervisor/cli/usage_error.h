// How the CLI reports a bad command line: one line on stderr, exit status 2.
#pragma once

#include <cstdint>
#include <string>

namespace vmm::cli {

// Prints "COMMAND: MESSAGE (see 'COMMAND --help')" and returns kExitUsage.
int usage_error(const std::string& command, const std::string& message);

// "256M", "1G", "512" (MiB, as QEMU's -m), "65536K": bytes, or 0 if invalid.
uint64_t parse_memory_size(const std::string& text);

}  // namespace vmm::cli
