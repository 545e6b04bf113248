// IrqLine: the wire from a device to the interrupt controller. Whether a line
// is asserted is device state (it goes in the device's State); the wiring is
// not, so a restored device re-drives its line in resume(), never in load().
#pragma once

namespace vmm::dev {

class IrqLine {
 public:
  virtual ~IrqLine() = default;
  virtual void set_level(bool high) = 0;
  // An edge for edge-triggered ISA inputs.
  void pulse() {
    set_level(true);
    set_level(false);
  }
};

}  // namespace vmm::dev
