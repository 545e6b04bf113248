// Kernel loading for a fresh boot: picks the boot protocol from the image,
// loads it into guest memory, and later puts the boot vCPU at its entry.
//   ELF with a PVH note (XEN_ELFNOTE_PHYS32_ENTRY)  -> PVH, 32-bit entry (pvh.h),
//     including a Linux vmlinux built with CONFIG_PVH
//   ELF without one (a 64-bit vmlinux)             -> Linux 64-bit boot protocol (linux_boot.h)
//   bzImage                                        -> Linux 64-bit boot protocol (linux_boot.h)
#pragma once

#include <cstdint>
#include <string>

#include "hypervisor/base/result.h"
#include "hypervisor/kvm/kvm.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv {

struct KernelBootConfig {
  std::string kernel_path;
  std::string initrd_path;  // empty: none
  std::string cmdline;
  uint32_t cpus = 1;
};

// Where and how the boot vCPU starts.
struct BootEntry {
  enum class Protocol {
    kPvh,      // 32-bit protected mode, paging off
    kLinux64,  // long mode on identity-mapped 2 MiB pages
  };
  Protocol protocol = Protocol::kPvh;
  uint64_t entry_gpa = 0;
  uint64_t boot_params_gpa = 0;  // PVH: hvm_start_info, in EBX; Linux: the zero page, in RSI
};

// Reads the kernel (and initrd), detects its format and loads it.
Result<BootEntry> load_kernel(GuestMemory& memory, const KernelBootConfig& config);

// Sets the boot vCPU's registers for `entry` (the other vCPUs wait for SIPI).
Result<void> set_boot_vcpu_state(Vcpu& vcpu, const BootEntry& entry);

}  // namespace vmm::hv
