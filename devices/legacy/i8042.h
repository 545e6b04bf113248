// i8042 keyboard controller with a minimal PS/2 keyboard (snapshot type
// "i8042"): data port 0x60 and status/command port 0x64, registered as two
// one-byte ranges and told apart by the range base.
//
// State: the command byte, the output port, whether the last write went to
// the command port (status A2), a controller command waiting for its data
// byte, the output buffer as a 16-entry queue (each byte tagged keyboard or
// aux) and the last byte read from it, the IRQ1/IRQ12 line levels, and the keyboard's own state (pending
// command, scanning, LEDs, scancode set).
//
// Implements: controller commands 0x20/0x60 (command byte), 0xA7/0xA8 (aux
// disable/enable), 0xA9 (aux test), 0xAA (self-test, 0x55), 0xAB (keyboard
// test), 0xAD/0xAE (keyboard disable/enable), 0xC0 (input port), 0xD0/0xD1
// (output port), 0xD2/0xD3 (write keyboard/aux output buffer), 0xD4 (write to
// aux) and 0xF0-0xFF (pulse output port); keyboard commands 0xFF, 0xF2, 0xED,
// 0xF0, 0xF4, 0xF5, 0xF6, 0xEE, all others acknowledged with 0xFA. Replies
// that depend on translation (identify, scancode set query) are translated
// when command-byte bit 6 is set, as QEMU does. A reset request (command 0xFE
// or an output-port write with bit 0 clear) calls `on_reset`: the VM ends, as
// in Firecracker.
//
// IRQ1 and IRQ12 are edge-pulsed whenever a byte reaches the head of the
// output buffer while its interrupt is enabled in the command byte (the PC's
// PIC sees OBF as an edge); the lines are never held, so resume() has nothing
// to re-drive.
//
// Does not implement: a mouse. Bytes written to the aux device (0xD4) are
// answered with 0xFE ("resend") on the aux channel, which drivers take as "no
// device". Also absent: A20 gating (output port bit 1 is stored only; KVM
// guests run with A20 enabled), controller RAM beyond the command byte,
// typematic timing and key repeat, parity/timeout errors.
//
// Spec: IBM PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary
// Device Controller" (status register, commands) and "Keyboard" (commands).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "devices/bus.h"
#include "devices/device.h"
#include "devices/irq.h"

namespace vmm::dev {

struct Ps2KeyboardState {
  uint8_t pending_command = 0;  // 0xED or 0xF0 while waiting for its data byte, else 0
  bool scanning = true;
  uint8_t leds = 0;
  uint8_t scancode_set = 2;

  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("pending_command", pending_command);
    ar.field("scanning", scanning);
    ar.field("leds", leds);
    ar.field("scancode_set", scancode_set);
  }
};

struct I8042State {
  static constexpr size_t kQueueSize = 16;

  uint8_t command_byte = 0x45;  // keyboard interrupt, system flag, translation
  uint8_t output_port = 0xcf;   // reset line high, A20 enabled
  bool last_write_command = false;
  uint8_t pending_command = 0;  // controller command waiting for a data byte on 0x60, else 0
  std::array<uint8_t, kQueueSize> out_data{};
  uint16_t out_aux = 0;  // bit i: out_data[i] came from the aux device
  uint8_t out_head = 0;
  uint8_t out_count = 0;
  bool kbd_line = false;  // OBF with a keyboard byte and IRQ1 enabled
  bool aux_line = false;  // OBF with an aux byte and IRQ12 enabled
  uint8_t last_read = 0;  // what port 0x60 returns while the buffer is empty
  Ps2KeyboardState keyboard;

  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("command_byte", command_byte);
    ar.field("output_port", output_port);
    ar.field("last_write_command", last_write_command);
    ar.field("pending_command", pending_command);
    ar.field("out_data", out_data);
    ar.field("out_aux", out_aux);
    ar.field("out_head", out_head);
    ar.field("out_count", out_count);
    ar.field("kbd_line", kbd_line);
    ar.field("aux_line", aux_line);
    ar.field("last_read", last_read);
    ar.field("keyboard", keyboard);
  }
};

class I8042 final : public StatefulDevice<I8042State>, public BusDevice {
 public:
  static constexpr std::string_view kTypeName = "i8042";
  static constexpr uint64_t kDataPort = 0x60;
  static constexpr uint64_t kCommandPort = 0x64;

  // `on_reset` runs on the vCPU thread after the device lock is released.
  I8042(std::string id, IrqLine& kbd_irq, IrqLine& aux_irq, std::function<void()> on_reset);

  Result<void> attach(Bus& bus);

  // Host keyboard input (scancodes in the current set, already translated if
  // the guest enabled translation). Returns how many bytes were queued: none
  // while paused, while the keyboard interface is disabled or scanning is
  // off, and never more than the output buffer holds.
  size_t inject_keyboard_bytes(std::span<const uint8_t> bytes);

  // Device
  std::string_view type_name() const override { return kTypeName; }
  StateVersion state_version() const override { return {1, 1}; }
  void reset() override;
  Result<void> pause() override;
  Result<void> resume() override;
  Result<void> post_load() override;

  // BusDevice: both ranges are one byte long.
  void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

 protected:
  Result<void> validate(const I8042State& s) const override;

 private:
  uint8_t status() const;
  uint8_t read_data();
  // Each returns true when the guest asked for a system reset.
  bool write_command(uint8_t command);
  bool write_data(uint8_t value);
  void keyboard_command(uint8_t value);
  void push(uint8_t byte, bool aux);
  void update_irqs(bool new_head);

  IrqLine& kbd_irq_;
  IrqLine& aux_irq_;
  std::function<void()> on_reset_;
  bool paused_ = false;
};

}  // namespace vmm::dev
