#include "hypervisor/kvm/vm_state.h"

#include <fmt/format.h>

namespace vmm::hv {
namespace {

PicState to_state(const kvm_pic_state& k) {
  return PicState{k.last_irr, k.irr, k.imr, k.isr, k.priority_add, k.irq_base, k.read_reg_select, k.poll,
                  k.special_mask, k.init_state, k.auto_eoi, k.rotate_on_auto_eoi, k.special_fully_nested_mode,
                  k.init4, k.elcr, k.elcr_mask};
}
kvm_pic_state to_kvm(const PicState& s) {
  kvm_pic_state k{};
  k.last_irr = s.last_irr, k.irr = s.irr, k.imr = s.imr, k.isr = s.isr, k.priority_add = s.priority_add;
  k.irq_base = s.irq_base, k.read_reg_select = s.read_reg_select, k.poll = s.poll, k.special_mask = s.special_mask;
  k.init_state = s.init_state, k.auto_eoi = s.auto_eoi, k.rotate_on_auto_eoi = s.rotate_on_auto_eoi;
  k.special_fully_nested_mode = s.special_fully_nested_mode, k.init4 = s.init4, k.elcr = s.elcr;
  k.elcr_mask = s.elcr_mask;
  return k;
}

}  // namespace

Result<void> validate_vm_state(const VmState& s) {
  for (const auto& c : s.pit) {
    // The 8254 counts at most 65536 (a written 0); modes are 0-5 (6, 7 alias
    // 2, 3) and KVM reports 0xff for a channel never programmed.
    if (c.count > 0x10000 || (c.mode > 7 && c.mode != 0xff) || c.rw_mode > 3 || c.read_state > 4 ||
        c.write_state > 4) {
      return Error::make(Errc::kBadSnapshot, "VM state: PIT channel out of range");
    }
  }
  if (s.ioapic.ioregsel > 0xff) return Error::make(Errc::kBadSnapshot, "VM state: IOAPIC register select out of range");
  return {};
}

Result<VmState> capture_vm_state(const Vm& vm) {
  VmState s;
  s.pic_master = to_state(VMM_TRY(vm.get_irqchip(KVM_IRQCHIP_PIC_MASTER)).chip.pic);
  s.pic_slave = to_state(VMM_TRY(vm.get_irqchip(KVM_IRQCHIP_PIC_SLAVE)).chip.pic);
  kvm_ioapic_state io = VMM_TRY(vm.get_irqchip(KVM_IRQCHIP_IOAPIC)).chip.ioapic;
  s.ioapic.base_address = io.base_address, s.ioapic.ioregsel = io.ioregsel, s.ioapic.id = io.id;
  s.ioapic.irr = io.irr;
  for (size_t i = 0; i < s.ioapic.redirection.size(); ++i) s.ioapic.redirection[i] = io.redirtbl[i].bits;
  kvm_pit_state2 pit = VMM_TRY(vm.get_pit2());
  for (size_t i = 0; i < 3; ++i) {
    const auto& c = pit.channels[i];
    s.pit[i] = PitChannelState{c.count, c.latched_count, c.count_latched, c.status_latched, c.status, c.read_state,
                               c.write_state, c.write_latch, c.rw_mode, c.mode, c.bcd, c.gate};
  }
  s.pit_flags = pit.flags;
  s.kvmclock_ns = VMM_TRY(vm.get_clock()).clock;
  return s;
}

Result<void> restore_vm_irqchips(Vm& vm, const VmState& s) {
  VMM_TRY(validate_vm_state(s));
  kvm_irqchip chip{};
  chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
  chip.chip.pic = to_kvm(s.pic_master);
  VMM_TRY(vm.set_irqchip(chip));
  chip = {};
  chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
  chip.chip.pic = to_kvm(s.pic_slave);
  VMM_TRY(vm.set_irqchip(chip));
  chip = {};
  chip.chip_id = KVM_IRQCHIP_IOAPIC;
  chip.chip.ioapic.base_address = s.ioapic.base_address, chip.chip.ioapic.ioregsel = s.ioapic.ioregsel;
  chip.chip.ioapic.id = s.ioapic.id, chip.chip.ioapic.irr = s.ioapic.irr;
  for (size_t i = 0; i < s.ioapic.redirection.size(); ++i) chip.chip.ioapic.redirtbl[i].bits = s.ioapic.redirection[i];
  VMM_TRY(vm.set_irqchip(chip));
  kvm_pit_state2 pit{};
  for (size_t i = 0; i < 3; ++i) {
    const auto& c = s.pit[i];
    auto& k = pit.channels[i];
    k.count = c.count, k.latched_count = c.latched_count, k.count_latched = c.count_latched;
    k.status_latched = c.status_latched, k.status = c.status, k.read_state = c.read_state;
    k.write_state = c.write_state, k.write_latch = c.write_latch, k.rw_mode = c.rw_mode, k.mode = c.mode;
    k.bcd = c.bcd, k.gate = c.gate;
  }
  pit.flags = s.pit_flags;
  VMM_TRY(vm.set_pit2(pit));
  return {};
}

Result<void> restore_vm_clock(Vm& vm, uint64_t ns) {
  kvm_clock_data clock{};
  clock.clock = ns;
  return vm.set_clock(clock);
}

}  // namespace vmm::hv
