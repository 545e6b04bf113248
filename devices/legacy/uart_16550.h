// 16550A UART (snapshot type "uart-16550"), eight byte-wide registers at
// base+0..7 (COM1 is 0x3f8, IRQ 4).
//
// State: every register (IER, FCR, LCR, MCR, LSR, MSR, SCR, DLL/DLM), the
// 16-byte receive FIFO (ring buffer; unused slots kept zero so the encoding is
// canonical), the pending THR-empty interrupt and whether the IRQ line is
// asserted.
//
// Implements: RBR/THR, IER, IIR/FCR, LCR with DLAB, MCR including loopback
// (THR goes to the receiver, MCR outputs loop to the MSR inputs with delta
// bits), LSR (DR, OE, THRE, TEMT), MSR deltas cleared on read, SCR, the FIFO
// with its four trigger levels, interrupt identification by priority (line
// status > received data / character timeout > THR empty > modem status), and
// a level-driven IRQ line. Host input is flow-controlled: receive() takes only
// what fits and set_rx_space_callback() says when to push again, so no host
// byte is ever lost to an overrun.
//
// Does not implement: baud-rate timing (transmission is instantaneous, so THR
// and the shift register are always empty again by the time the guest looks),
// a transmit FIFO, parity/framing/break errors, DMA mode signalling, and the
// character-timeout delay: the timeout interrupt (IIR 0xC) is reported as soon
// as data sits below the trigger level, rather than four character times
// later, which keeps the device free of timers and therefore of time in its
// state. OUT2 does not gate the IRQ (as in QEMU and Firecracker).
//
// Spec: TI/National PC16550D datasheet, sections 8.1-8.11 (register
// descriptions), table III (interrupt control functions), 8.6 (loopback).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "devices/bus.h"
#include "devices/device.h"
#include "devices/irq.h"

namespace vmm::dev {

struct Uart16550State {
  static constexpr size_t kFifoSize = 16;

  uint8_t ier = 0;
  uint8_t fcr = 0;  // as written, minus the self-clearing reset bits 1 and 2
  uint8_t lcr = 0;
  uint8_t mcr = 0;
  uint8_t lsr = 0x60;  // THRE | TEMT
  uint8_t msr = 0xb0;  // DCD | DSR | CTS: a terminal is attached
  uint8_t scr = 0;
  uint8_t dll = 0x0c;  // 9600 baud, as a PC BIOS leaves it
  uint8_t dlm = 0;
  std::array<uint8_t, kFifoSize> rx_fifo{};
  uint8_t rx_head = 0;   // index of the oldest byte
  uint8_t rx_count = 0;  // bytes queued (at most 1 while the FIFO is disabled)
  bool thr_ipending = false;
  bool irq_asserted = false;

  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("ier", ier);
    ar.field("fcr", fcr);
    ar.field("lcr", lcr);
    ar.field("mcr", mcr);
    ar.field("lsr", lsr);
    ar.field("msr", msr);
    ar.field("scr", scr);
    ar.field("dll", dll);
    ar.field("dlm", dlm);
    ar.field("rx_fifo", rx_fifo);
    ar.field("rx_head", rx_head);
    ar.field("rx_count", rx_count);
    ar.field("thr_ipending", thr_ipending);
    ar.field("irq_asserted", irq_asserted);
  }
};

class Uart16550 final : public StatefulDevice<Uart16550State>, public BusDevice {
 public:
  static constexpr std::string_view kTypeName = "uart-16550";
  static constexpr uint64_t kRegisterCount = 8;  // one bus range of this length

  // `output` receives transmitted bytes. It is called on the vCPU thread after
  // the device lock is released (so it may block briefly or call back into
  // the device), once per bus access, with the bytes that access sent.
  Uart16550(std::string id, IrqLine& irq, std::function<void(std::span<const uint8_t>)> output);

  Result<void> attach(Bus& bus, uint64_t base) { return bus.insert(base, kRegisterCount, *this); }

  // Host input. Returns how many bytes were taken: none while paused or in
  // loopback (the receiver is disconnected from the line then), otherwise as
  // many as fit in the FIFO (one while it is disabled). The caller keeps the
  // rest and retries when the rx-space callback runs.
  size_t receive(std::span<const uint8_t> bytes);
  // Called without the device lock, on whichever thread freed the space
  // (usually a vCPU reading RBR), once after receive() came up short and room
  // appeared; also on resume() so a restored console starts pushing.
  void set_rx_space_callback(std::function<void()> callback);

  // Device
  std::string_view type_name() const override { return kTypeName; }
  StateVersion state_version() const override { return {1, 1}; }
  void reset() override;
  Result<void> pause() override;
  // Re-drives the IRQ line from the state and invites host input.
  Result<void> resume() override;
  // Nothing host-side to re-derive; raises no interrupt.
  Result<void> post_load() override;

  // BusDevice: accesses wider than a byte act as consecutive byte accesses,
  // as an 8-bit ISA device sees them.
  void read(uint64_t base, uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t base, uint64_t offset, std::span<const uint8_t> data) override;

 protected:
  Result<void> validate(const Uart16550State& s) const override;

 private:
  // Work to do after the lock is released.
  struct Deferred {
    std::vector<uint8_t> tx;
    bool notify_space = false;
  };

  uint8_t read_register(uint64_t reg);
  void write_register(uint64_t reg, uint8_t value, Deferred& deferred);
  void write_fcr(uint8_t value);
  void write_mcr(uint8_t value);
  void push_rx(uint8_t byte);  // loopback path: overruns set OE
  uint8_t pop_rx();
  void clear_rx();
  size_t rx_capacity() const;
  // Sets the IRQ level from the interrupt the IIR would report.
  void update_irq();
  bool take_space_notification();
  void run_deferred(Deferred& deferred);

  IrqLine& irq_;
  std::function<void(std::span<const uint8_t>)> output_;
  std::function<void()> rx_space_callback_;
  bool paused_ = false;
  bool rx_blocked_ = false;  // receive() came up short; the host waits for space
};

}  // namespace vmm::dev
