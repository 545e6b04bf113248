#include "hypervisor/machine/kernel_boot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <span>
#include <vector>

#include "hypervisor/base/unique_fd.h"
#include "hypervisor/boot/kernel_format.h"
#include "hypervisor/boot/linux_boot.h"
#include "hypervisor/boot/linux_entry_state.h"
#include "hypervisor/boot/pvh.h"
#include "hypervisor/boot/vcpu_boot_state.h"

namespace vmm::hv {
namespace {

Result<std::vector<uint8_t>> read_file(const std::string& path, const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::sys(errno, fmt::format("{} {}", what, path));
  UniqueFd owned(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return Error::sys(errno, fmt::format("{} {}", what, path));
  if (!S_ISREG(st.st_mode)) {
    return Error::make(Errc::kInvalidArgument, fmt::format("{} {}: not a regular file", what, path));
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, fmt::format("read {} {}", what, path));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

}  // namespace

Result<BootEntry> load_kernel(GuestMemory& memory, const KernelBootConfig& config) {
  auto kernel = VMM_TRY(read_file(config.kernel_path, "kernel"));
  std::vector<uint8_t> initrd;
  if (!config.initrd_path.empty()) initrd = VMM_TRY(read_file(config.initrd_path, "initrd"));
  std::optional<std::span<const uint8_t>> initrd_span;
  if (!config.initrd_path.empty()) initrd_span = std::span<const uint8_t>(initrd);

  const auto format = boot::detect_kernel_format(kernel);
  VMM_TRY_CTX(boot::check_kernel_bootable(format), config.kernel_path);
  BootEntry entry;
  if (format == boot::KernelFormat::kElfPvh) {
    boot::PvhConfig pvh;
    pvh.cmdline = config.cmdline;
    pvh.cpus = config.cpus;
    pvh.initrd = initrd_span;
    auto info = VMM_TRY_CTX(boot::load_pvh(memory, kernel, pvh), config.kernel_path);
    entry.protocol = BootEntry::Protocol::kPvh;
    entry.entry_gpa = info.entry_gpa;
    entry.boot_params_gpa = info.start_info_gpa;
    return entry;
  }
  boot::LinuxConfig lx;
  lx.cmdline = config.cmdline;
  lx.cpus = config.cpus;
  lx.initrd = initrd_span;
  boot::LinuxBootInfo info{};
  if (format == boot::KernelFormat::kBzImage) {
    info = VMM_TRY_CTX(boot::load_bzimage(memory, kernel, lx), config.kernel_path);
  } else {
    info = VMM_TRY_CTX(boot::load_linux_elf(memory, kernel, lx),
                       config.kernel_path + " (ELF without a PVH note, booted with the Linux 64-bit protocol)");
  }
  entry.protocol = BootEntry::Protocol::kLinux64;
  entry.entry_gpa = info.entry_gpa;
  entry.boot_params_gpa = info.zero_page_gpa;
  return entry;
}

Result<void> set_boot_vcpu_state(Vcpu& vcpu, const BootEntry& entry) {
  kvm_sregs sregs = VMM_TRY(vcpu.get_sregs());
  switch (entry.protocol) {
    case BootEntry::Protocol::kPvh:
      VMM_TRY(vcpu.set_sregs(boot::pvh_entry_sregs(sregs)));
      VMM_TRY(vcpu.set_regs(boot::pvh_entry_regs(entry.entry_gpa, entry.boot_params_gpa)));
      return {};
    case BootEntry::Protocol::kLinux64:
      VMM_TRY(vcpu.set_sregs(boot::linux64_entry_sregs(sregs)));
      VMM_TRY(vcpu.set_regs(boot::linux64_entry_regs(entry.entry_gpa, entry.boot_params_gpa)));
      return {};
  }
  VMM_CHECK(false);
  return {};
}

}  // namespace vmm::hv
