// VmState: the VM-wide state KVM emulates in the kernel — both 8259 PICs,
// the IOAPIC, the PIT — and the kvmclock, in the canonical archive encoding.
// Captured when the VM pauses (so repeated saves of a paused VM are equal)
// and written back on restore after the devices' post_load.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <cstdint>

#include "hypervisor/base/result.h"
#include "hypervisor/kvm/kvm.h"

namespace vmm::hv {

struct PicState {
  uint8_t last_irr = 0, irr = 0, imr = 0, isr = 0, priority_add = 0, irq_base = 0, read_reg_select = 0, poll = 0;
  uint8_t special_mask = 0, init_state = 0, auto_eoi = 0, rotate_on_auto_eoi = 0, special_fully_nested_mode = 0;
  uint8_t init4 = 0, elcr = 0, elcr_mask = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("last_irr", last_irr), ar.field("irr", irr), ar.field("imr", imr), ar.field("isr", isr);
    ar.field("priority_add", priority_add), ar.field("irq_base", irq_base);
    ar.field("read_reg_select", read_reg_select), ar.field("poll", poll), ar.field("special_mask", special_mask);
    ar.field("init_state", init_state), ar.field("auto_eoi", auto_eoi);
    ar.field("rotate_on_auto_eoi", rotate_on_auto_eoi);
    ar.field("special_fully_nested_mode", special_fully_nested_mode), ar.field("init4", init4);
    ar.field("elcr", elcr), ar.field("elcr_mask", elcr_mask);
  }
};

struct IoapicState {
  uint64_t base_address = 0;
  uint32_t ioregsel = 0, id = 0, irr = 0;
  std::array<uint64_t, KVM_IOAPIC_NUM_PINS> redirection{};
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("base_address", base_address), ar.field("ioregsel", ioregsel), ar.field("id", id);
    ar.field("irr", irr), ar.field("redirection", redirection);
  }
};

struct PitChannelState {
  uint32_t count = 0;
  uint16_t latched_count = 0;
  uint8_t count_latched = 0, status_latched = 0, status = 0, read_state = 0, write_state = 0, write_latch = 0;
  uint8_t rw_mode = 0, mode = 0, bcd = 0, gate = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("count", count), ar.field("latched_count", latched_count), ar.field("count_latched", count_latched);
    ar.field("status_latched", status_latched), ar.field("status", status), ar.field("read_state", read_state);
    ar.field("write_state", write_state), ar.field("write_latch", write_latch), ar.field("rw_mode", rw_mode);
    ar.field("mode", mode), ar.field("bcd", bcd), ar.field("gate", gate);
  }
};

struct VmState {
  static constexpr uint32_t kVersion = 1;
  PicState pic_master, pic_slave;
  IoapicState ioapic;
  std::array<PitChannelState, 3> pit{};
  uint32_t pit_flags = 0;
  uint64_t kvmclock_ns = 0;  // the guest's kvmclock when the VM paused

  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("pic_master", pic_master), ar.field("pic_slave", pic_slave), ar.field("ioapic", ioapic);
    ar.field("pit", pit), ar.field("pit_flags", pit_flags), ar.field("kvmclock_ns", kvmclock_ns);
  }
};

Result<void> validate_vm_state(const VmState& state);
Result<VmState> capture_vm_state(const Vm& vm);
// Writes the interrupt controllers and the PIT. The PIT's channels restart
// their count from the saved value now: the time a count was loaded is host
// time and means nothing on another host, so it is not saved.
Result<void> restore_vm_irqchips(Vm& vm, const VmState& state);
// Sets the kvmclock to `ns` (the policy — continue from the snapshot or
// catch up with the host — is the caller's).
Result<void> restore_vm_clock(Vm& vm, uint64_t ns);

}  // namespace vmm::hv
