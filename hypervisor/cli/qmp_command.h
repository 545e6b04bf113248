// `vmm qmp SOCKET JSON`: one raw QMP command, against vmm or QEMU.
#pragma once

namespace vmm::cli {

int qmp_command(int argc, char** argv);

}  // namespace vmm::cli
