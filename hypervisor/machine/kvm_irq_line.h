// KvmIrqLine: an ISA interrupt line into the in-kernel PIC and IOAPIC
// (KVM_IRQ_LINE drives both for GSIs 0-15).
#pragma once

#include "devices/irq.h"
#include "hypervisor/base/log.h"
#include "hypervisor/kvm/kvm.h"

namespace vmm::hv {

class KvmIrqLine : public dev::IrqLine {
 public:
  KvmIrqLine(Vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}
  void set_level(bool high) override {
    auto r = vm_.irq_line(gsi_, high);
    if (!r) VMM_GUEST_WARN("{}", r.error().message());
  }

 private:
  Vm& vm_;
  uint32_t gsi_;
};

}  // namespace vmm::hv
