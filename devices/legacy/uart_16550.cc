#include "devices/legacy/uart_16550.h"

#include <fmt/format.h>

#include "hypervisor/base/log.h"

namespace vmm::dev {
namespace {

// Register offsets (DLAB selects DLL/DLM at 0 and 1).
constexpr uint64_t kRegData = 0;  // RBR (read), THR (write), DLL with DLAB
constexpr uint64_t kRegIer = 1;   // DLM with DLAB
constexpr uint64_t kRegIirFcr = 2;
constexpr uint64_t kRegLcr = 3;
constexpr uint64_t kRegMcr = 4;
constexpr uint64_t kRegLsr = 5;
constexpr uint64_t kRegMsr = 6;
constexpr uint64_t kRegScr = 7;

constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThre = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerModemStatus = 0x08;
constexpr uint8_t kIerMask = 0x0f;

// IIR identification codes (bits 3:0), table III of the datasheet.
constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirTimeout = 0x0c;
constexpr uint8_t kIirThre = 0x02;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirFifoEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kFcrClearRx = 0x02;
constexpr uint8_t kFcrDmaMode = 0x08;
constexpr uint8_t kFcrTrigger = 0xc0;
constexpr uint8_t kFcrStored = kFcrEnable | kFcrDmaMode | kFcrTrigger;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;
constexpr uint8_t kMcrLoop = 0x10;
constexpr uint8_t kMcrMask = 0x1f;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrErrors = 0x1e;  // OE, PE, FE, BI: what reading LSR clears
constexpr uint8_t kLsrThre = 0x20;
constexpr uint8_t kLsrTemt = 0x40;
constexpr uint8_t kLsrFifoError = 0x80;

constexpr uint8_t kMsrDeltaCts = 0x01;
constexpr uint8_t kMsrDeltaDsr = 0x02;
constexpr uint8_t kMsrTrailingRi = 0x04;
constexpr uint8_t kMsrDeltaDcd = 0x08;
constexpr uint8_t kMsrDeltas = 0x0f;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// With no loopback the host side looks like an attached, idle terminal.
constexpr uint8_t kMsrHostLines = kMsrDcd | kMsrDsr | kMsrCts;

size_t capacity(const Uart16550State& s) { return (s.fcr & kFcrEnable) ? Uart16550State::kFifoSize : 1; }

size_t trigger_level(uint8_t fcr) {
  static constexpr size_t kLevels[] = {1, 4, 8, 14};
  return kLevels[fcr >> 6];
}

// In loopback the MCR outputs drive the MSR inputs (datasheet 8.6).
uint8_t loopback_lines(uint8_t mcr) {
  return ((mcr & kMcrDtr) ? kMsrDsr : 0) | ((mcr & kMcrRts) ? kMsrCts : 0) | ((mcr & kMcrOut1) ? kMsrRi : 0) |
         ((mcr & kMcrOut2) ? kMsrDcd : 0);
}

uint8_t compute_interrupt_id(const Uart16550State& s) {
  if ((s.ier & kIerLineStatus) && (s.lsr & kLsrErrors)) return kIirLineStatus;
  if ((s.ier & kIerRxData) && s.rx_count > 0) {
    if (!(s.fcr & kFcrEnable) || s.rx_count >= trigger_level(s.fcr)) return kIirRxData;
    return kIirTimeout;
  }
  if ((s.ier & kIerThre) && s.thr_ipending) return kIirThre;
  if ((s.ier & kIerModemStatus) && (s.msr & kMsrDeltas)) return kIirModemStatus;
  return kIirNone;
}

}  // namespace

Uart16550::Uart16550(std::string id, IrqLine& irq, std::function<void(std::span<const uint8_t>)> output)
    : StatefulDevice(std::move(id)), irq_(irq), output_(std::move(output)) {}

size_t Uart16550::receive(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  size_t taken = 0;
  if (!paused_ && !(state_.mcr & kMcrLoop)) {
    size_t cap = capacity(state_);
    while (taken < bytes.size() && state_.rx_count < cap) {
      state_.rx_fifo[(state_.rx_head + state_.rx_count) % Uart16550State::kFifoSize] = bytes[taken++];
      ++state_.rx_count;
    }
    if (taken > 0) {
      state_.lsr |= kLsrDataReady;
      update_irq();
    }
  }
  if (taken < bytes.size()) rx_blocked_ = true;
  return taken;
}

void Uart16550::set_rx_space_callback(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  rx_space_callback_ = std::move(callback);
}

void Uart16550::reset() {
  Deferred deferred;
  {
    std::lock_guard lock(mutex_);
    bool was_asserted = state_.irq_asserted;
    state_ = Uart16550State{};
    if (was_asserted) irq_.set_level(false);
    deferred.notify_space = take_space_notification();
  }
  run_deferred(deferred);
}

Result<void> Uart16550::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
  return {};
}

Result<void> Uart16550::resume() {
  Deferred deferred;
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
    irq_.set_level(state_.irq_asserted);
    // Whatever the host held back while paused (or before a restore) may go
    // in now.
    rx_blocked_ = true;
    deferred.notify_space = take_space_notification();
  }
  run_deferred(deferred);
  return {};
}

Result<void> Uart16550::post_load() {
  std::lock_guard lock(mutex_);
  rx_blocked_ = true;
  return {};
}

void Uart16550::read(uint64_t /*base*/, uint64_t offset, std::span<uint8_t> data) {
  Deferred deferred;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) data[i] = read_register(offset + i);
    deferred.notify_space = take_space_notification();
  }
  run_deferred(deferred);
}

void Uart16550::write(uint64_t /*base*/, uint64_t offset, std::span<const uint8_t> data) {
  Deferred deferred;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) write_register(offset + i, data[i], deferred);
    deferred.notify_space = take_space_notification();
  }
  run_deferred(deferred);
}

uint8_t Uart16550::read_register(uint64_t reg) {
  bool dlab = state_.lcr & kLcrDlab;
  switch (reg) {
    case kRegData:
      if (dlab) return state_.dll;
      if (state_.rx_count == 0) return 0;  // nothing received: reads as zero
      {
        uint8_t byte = pop_rx();
        update_irq();
        return byte;
      }
    case kRegIer:
      return dlab ? state_.dlm : state_.ier;
    case kRegIirFcr: {
      uint8_t id = compute_interrupt_id(state_);
      // Reading IIR while it reports THR empty acknowledges that interrupt.
      if (id == kIirThre) {
        state_.thr_ipending = false;
        update_irq();
      }
      return id | ((state_.fcr & kFcrEnable) ? kIirFifoEnabled : 0);
    }
    case kRegLcr:
      return state_.lcr;
    case kRegMcr:
      return state_.mcr;
    case kRegLsr: {
      uint8_t value = state_.lsr;
      state_.lsr &= static_cast<uint8_t>(~(kLsrErrors | kLsrFifoError));
      update_irq();
      return value;
    }
    case kRegMsr: {
      uint8_t value = state_.msr;
      state_.msr &= static_cast<uint8_t>(~kMsrDeltas);
      update_irq();
      return value;
    }
    case kRegScr:
      return state_.scr;
    default:
      return 0xff;
  }
}

void Uart16550::write_register(uint64_t reg, uint8_t value, Deferred& deferred) {
  bool dlab = state_.lcr & kLcrDlab;
  switch (reg) {
    case kRegData:
      if (dlab) {
        state_.dll = value;
        return;
      }
      if (state_.mcr & kMcrLoop) {
        push_rx(value);
      } else {
        deferred.tx.push_back(value);
      }
      // Writing THR clears the THRE interrupt; transmission is instantaneous,
      // so THR is empty again at once and the interrupt is pending anew.
      state_.lsr |= kLsrThre | kLsrTemt;
      state_.thr_ipending = true;
      update_irq();
      return;
    case kRegIer: {
      if (dlab) {
        state_.dlm = value;
        return;
      }
      uint8_t enabled = static_cast<uint8_t>(value & ~state_.ier);
      state_.ier = value & kIerMask;
      // Enabling ETBEI while THR is empty raises the THRE interrupt at once.
      if ((enabled & kIerThre) && (state_.lsr & kLsrThre)) state_.thr_ipending = true;
      update_irq();
      return;
    }
    case kRegIirFcr:
      write_fcr(value);
      return;
    case kRegLcr:
      state_.lcr = value;
      return;
    case kRegMcr:
      write_mcr(value);
      return;
    case kRegLsr:
    case kRegMsr:
      VMM_GUEST_WARN("{}: write {:#04x} to read-only register {} ignored", instance_id(), value, reg);
      return;
    case kRegScr:
      state_.scr = value;
      return;
    default:
      return;
  }
}

void Uart16550::write_fcr(uint8_t value) {
  // Switching the FIFOs on or off empties them.
  if ((value ^ state_.fcr) & kFcrEnable) clear_rx();
  if (value & kFcrEnable) {
    if (value & kFcrClearRx) clear_rx();
    state_.fcr = value & kFcrStored;
  } else {
    // The other FCR bits only take effect while bit 0 is set (datasheet 8.4).
    state_.fcr = 0;
  }
  update_irq();
}

void Uart16550::write_mcr(uint8_t value) {
  state_.mcr = value & kMcrMask;
  uint8_t old_lines = state_.msr & static_cast<uint8_t>(~kMsrDeltas);
  uint8_t new_lines = (state_.mcr & kMcrLoop) ? loopback_lines(state_.mcr) : kMsrHostLines;
  uint8_t changed = old_lines ^ new_lines;
  uint8_t deltas = state_.msr & kMsrDeltas;
  if (changed & kMsrCts) deltas |= kMsrDeltaCts;
  if (changed & kMsrDsr) deltas |= kMsrDeltaDsr;
  if (changed & kMsrDcd) deltas |= kMsrDeltaDcd;
  if ((old_lines & kMsrRi) && !(new_lines & kMsrRi)) deltas |= kMsrTrailingRi;
  state_.msr = new_lines | deltas;
  update_irq();
}

void Uart16550::push_rx(uint8_t byte) {
  if (state_.rx_count == capacity(state_)) {
    // Overrun (datasheet 8.4, LSR bit 1): with the FIFO the character in the
    // shift register is lost; without it the new character overwrites RBR.
    state_.lsr |= kLsrOverrun;
    if (!(state_.fcr & kFcrEnable)) state_.rx_fifo[state_.rx_head] = byte;
    return;
  }
  state_.rx_fifo[(state_.rx_head + state_.rx_count) % Uart16550State::kFifoSize] = byte;
  ++state_.rx_count;
  state_.lsr |= kLsrDataReady;
}

uint8_t Uart16550::pop_rx() {
  uint8_t byte = state_.rx_fifo[state_.rx_head];
  state_.rx_fifo[state_.rx_head] = 0;  // keeps the encoding canonical
  state_.rx_head = static_cast<uint8_t>((state_.rx_head + 1) % Uart16550State::kFifoSize);
  if (--state_.rx_count == 0) state_.lsr &= static_cast<uint8_t>(~kLsrDataReady);
  return byte;
}

void Uart16550::clear_rx() {
  state_.rx_fifo.fill(0);
  state_.rx_head = 0;
  state_.rx_count = 0;
  state_.lsr &= static_cast<uint8_t>(~kLsrDataReady);
}

size_t Uart16550::rx_capacity() const { return capacity(state_); }

void Uart16550::update_irq() {
  bool pending = compute_interrupt_id(state_) != kIirNone;
  if (pending == state_.irq_asserted) return;
  state_.irq_asserted = pending;
  // Driven under the lock so the line follows state changes in order.
  irq_.set_level(pending);
}

bool Uart16550::take_space_notification() {
  if (!rx_blocked_ || paused_ || (state_.mcr & kMcrLoop) || state_.rx_count >= rx_capacity()) return false;
  rx_blocked_ = false;
  return static_cast<bool>(rx_space_callback_);
}

void Uart16550::run_deferred(Deferred& deferred) {
  if (!deferred.tx.empty() && output_) output_(deferred.tx);
  if (deferred.notify_space) {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex_);
      callback = rx_space_callback_;
    }
    if (callback) callback();
  }
}

Result<void> Uart16550::validate(const Uart16550State& s) const {
  auto bad = [](std::string what) { return Error::make(Errc::kBadSnapshot, "uart-16550: " + what); };
  if (s.ier & ~kIerMask) return bad(fmt::format("ier {:#04x} has reserved bits", s.ier));
  if ((s.fcr & ~kFcrStored) || ((s.fcr & ~kFcrEnable) && !(s.fcr & kFcrEnable))) {
    return bad(fmt::format("fcr {:#04x} is not a value the register can hold", s.fcr));
  }
  if (s.mcr & ~kMcrMask) return bad(fmt::format("mcr {:#04x} has reserved bits", s.mcr));
  if ((s.lsr & ~(kLsrDataReady | kLsrOverrun | kLsrThre | kLsrTemt)) ||
      (s.lsr & (kLsrThre | kLsrTemt)) != (kLsrThre | kLsrTemt)) {
    return bad(fmt::format("lsr {:#04x} is not a state this model reaches", s.lsr));
  }
  uint8_t lines = (s.mcr & kMcrLoop) ? loopback_lines(s.mcr) : kMsrHostLines;
  if ((s.msr & ~kMsrDeltas) != lines) return bad(fmt::format("msr {:#04x} disagrees with mcr {:#04x}", s.msr, s.mcr));
  if (s.rx_head >= Uart16550State::kFifoSize) return bad(fmt::format("rx_head {} out of range", s.rx_head));
  if (s.rx_count > capacity(s)) return bad(fmt::format("rx_count {} exceeds capacity {}", s.rx_count, capacity(s)));
  if (((s.lsr & kLsrDataReady) != 0) != (s.rx_count > 0)) return bad("lsr.DR disagrees with rx_count");
  for (size_t i = s.rx_count; i < Uart16550State::kFifoSize; ++i) {
    if (s.rx_fifo[(s.rx_head + i) % Uart16550State::kFifoSize] != 0) return bad("unused rx_fifo slot is not zero");
  }
  if (s.irq_asserted != (compute_interrupt_id(s) != kIirNone)) return bad("irq_asserted disagrees with registers");
  return {};
}

}  // namespace vmm::dev
