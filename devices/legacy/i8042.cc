#include "devices/legacy/i8042.h"

#include <fmt/format.h>

#include "hypervisor/base/log.h"

namespace vmm::dev {
namespace {

constexpr uint8_t kStatusObf = 0x01;
constexpr uint8_t kStatusSys = 0x04;
constexpr uint8_t kStatusA2 = 0x08;         // last write was to the command port
constexpr uint8_t kStatusUnlocked = 0x10;   // keyboard not inhibited by the keylock
constexpr uint8_t kStatusAuxObf = 0x20;

constexpr uint8_t kCbKbdInt = 0x01;
constexpr uint8_t kCbAuxInt = 0x02;
constexpr uint8_t kCbSys = 0x04;
constexpr uint8_t kCbKbdDisable = 0x10;
constexpr uint8_t kCbAuxDisable = 0x20;
constexpr uint8_t kCbTranslate = 0x40;

constexpr uint8_t kOutPortReset = 0x01;  // 0 holds the CPU in reset
constexpr uint8_t kOutPortObf = 0x10;
constexpr uint8_t kOutPortAuxObf = 0x20;

// Controller commands written to port 0x64.
constexpr uint8_t kCmdReadCommandByte = 0x20;
constexpr uint8_t kCmdWriteCommandByte = 0x60;
constexpr uint8_t kCmdAuxDisable = 0xa7;
constexpr uint8_t kCmdAuxEnable = 0xa8;
constexpr uint8_t kCmdAuxTest = 0xa9;
constexpr uint8_t kCmdSelfTest = 0xaa;
constexpr uint8_t kCmdKbdTest = 0xab;
constexpr uint8_t kCmdKbdDisable = 0xad;
constexpr uint8_t kCmdKbdEnable = 0xae;
constexpr uint8_t kCmdReadInputPort = 0xc0;
constexpr uint8_t kCmdReadOutputPort = 0xd0;
constexpr uint8_t kCmdWriteOutputPort = 0xd1;
constexpr uint8_t kCmdWriteKbdBuffer = 0xd2;
constexpr uint8_t kCmdWriteAuxBuffer = 0xd3;
constexpr uint8_t kCmdWriteAux = 0xd4;
constexpr uint8_t kCmdPulseFirst = 0xf0;

// Keyboard commands and replies.
constexpr uint8_t kKbdSetLeds = 0xed;
constexpr uint8_t kKbdEcho = 0xee;
constexpr uint8_t kKbdScancodeSet = 0xf0;
constexpr uint8_t kKbdIdentify = 0xf2;
constexpr uint8_t kKbdEnable = 0xf4;
constexpr uint8_t kKbdDisable = 0xf5;
constexpr uint8_t kKbdDefaults = 0xf6;
constexpr uint8_t kKbdReset = 0xff;
constexpr uint8_t kReplyAck = 0xfa;
constexpr uint8_t kReplyResend = 0xfe;
constexpr uint8_t kReplySelfTestOk = 0xaa;
constexpr uint8_t kReplyControllerOk = 0x55;
constexpr uint8_t kReplyIdFirst = 0xab;

// What the controller's set-2 to set-1 translation makes of the few replies
// that differ (the identify byte and the scancode-set numbers).
uint8_t translate(uint8_t byte) {
  switch (byte) {
    case 0x83: return 0x41;
    case 1: return 0x43;
    case 2: return 0x41;
    case 3: return 0x3f;
    default: return byte;
  }
}

bool front_is_aux(const I8042State& s) { return s.out_count > 0 && ((s.out_aux >> s.out_head) & 1); }
bool kbd_line_level(const I8042State& s) {
  return s.out_count > 0 && !front_is_aux(s) && (s.command_byte & kCbKbdInt);
}
bool aux_line_level(const I8042State& s) { return front_is_aux(s) && (s.command_byte & kCbAuxInt); }

bool takes_data_byte(uint8_t command) {
  return command == kCmdWriteCommandByte || command == kCmdWriteOutputPort || command == kCmdWriteKbdBuffer ||
         command == kCmdWriteAuxBuffer || command == kCmdWriteAux;
}

}  // namespace

I8042::I8042(std::string id, IrqLine& kbd_irq, IrqLine& aux_irq, std::function<void()> on_reset)
    : StatefulDevice(std::move(id)), kbd_irq_(kbd_irq), aux_irq_(aux_irq), on_reset_(std::move(on_reset)) {}

Result<void> I8042::attach(Bus& bus) {
  VMM_TRY(bus.insert(kDataPort, 1, *this));
  return bus.insert(kCommandPort, 1, *this);
}

size_t I8042::inject_keyboard_bytes(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  if (paused_ || (state_.command_byte & kCbKbdDisable) || !state_.keyboard.scanning) return 0;
  size_t taken = 0;
  while (taken < bytes.size() && state_.out_count < I8042State::kQueueSize) push(bytes[taken++], false);
  return taken;
}

void I8042::reset() {
  std::lock_guard lock(mutex_);
  // The lines are only ever pulsed, so there is no level to drop.
  state_ = I8042State{};
}

Result<void> I8042::pause() {
  std::lock_guard lock(mutex_);
  paused_ = true;
  return {};
}

Result<void> I8042::resume() {
  std::lock_guard lock(mutex_);
  // Edges already delivered live in the interrupt controller's state, so
  // nothing is re-driven here.
  paused_ = false;
  return {};
}

Result<void> I8042::post_load() {
  std::lock_guard lock(mutex_);
  return {};
}

void I8042::read(uint64_t base, uint64_t /*offset*/, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (data.empty()) return;
  data[0] = base == kDataPort ? read_data() : status();
  for (size_t i = 1; i < data.size(); ++i) data[i] = 0xff;
}

void I8042::write(uint64_t base, uint64_t /*offset*/, std::span<const uint8_t> data) {
  bool reset_requested = false;
  {
    std::lock_guard lock(mutex_);
    if (data.empty()) return;
    if (base == kCommandPort) {
      state_.last_write_command = true;
      reset_requested = write_command(data[0]);
    } else {
      state_.last_write_command = false;
      reset_requested = write_data(data[0]);
    }
  }
  // Outside the lock: the machine may pause every device on the way out.
  if (reset_requested && on_reset_) on_reset_();
}

uint8_t I8042::status() const {
  uint8_t s = kStatusUnlocked;
  if (state_.out_count > 0) s |= kStatusObf;
  if (front_is_aux(state_)) s |= kStatusAuxObf;
  if (state_.command_byte & kCbSys) s |= kStatusSys;
  if (state_.last_write_command) s |= kStatusA2;
  return s;
}

uint8_t I8042::read_data() {
  // With nothing buffered the port still shows the last byte, as the
  // hardware latch does.
  if (state_.out_count == 0) return state_.last_read;
  uint8_t head = state_.out_head;
  uint8_t byte = state_.out_data[head];
  state_.out_data[head] = 0;  // keeps the encoding canonical
  state_.out_aux &= static_cast<uint16_t>(~(1u << head));
  state_.out_head = static_cast<uint8_t>((head + 1) % I8042State::kQueueSize);
  --state_.out_count;
  state_.last_read = byte;
  // OBF drops and, if more is queued, rises again: a new edge.
  update_irqs(true);
  return byte;
}

bool I8042::write_command(uint8_t command) {
  // A new command abandons one still waiting for its data byte.
  state_.pending_command = 0;
  uint8_t& cb = state_.command_byte;
  bool reset_requested = false;
  if (takes_data_byte(command)) {
    state_.pending_command = command;
  } else if (command >= kCmdPulseFirst) {
    // Bits 3:0 select output-port lines to pulse low; bit 0 is CPU reset.
    reset_requested = !(command & kOutPortReset);
  } else {
    switch (command) {
      case kCmdReadCommandByte: push(cb, false); break;
      case kCmdAuxDisable: cb |= kCbAuxDisable; break;
      case kCmdAuxEnable: cb &= static_cast<uint8_t>(~kCbAuxDisable); break;
      case kCmdAuxTest: push(0x00, false); break;
      case kCmdSelfTest:
        cb |= kCbSys;
        push(kReplyControllerOk, false);
        break;
      case kCmdKbdTest: push(0x00, false); break;
      case kCmdKbdDisable: cb |= kCbKbdDisable; break;
      case kCmdKbdEnable: cb &= static_cast<uint8_t>(~kCbKbdDisable); break;
      case kCmdReadInputPort: push(0x80, false); break;  // bit 7: keyboard not inhibited
      case kCmdReadOutputPort: {
        uint8_t port = state_.output_port & static_cast<uint8_t>(~(kOutPortObf | kOutPortAuxObf));
        if (state_.out_count > 0) port |= front_is_aux(state_) ? kOutPortAuxObf : kOutPortObf;
        push(port, false);
        break;
      }
      default:
        VMM_GUEST_WARN("{}: unsupported controller command {:#04x} ignored", instance_id(), command);
        break;
    }
  }
  update_irqs(false);
  return reset_requested;
}

bool I8042::write_data(uint8_t value) {
  uint8_t command = state_.pending_command;
  state_.pending_command = 0;
  bool reset_requested = false;
  switch (command) {
    case 0: keyboard_command(value); break;
    case kCmdWriteCommandByte: state_.command_byte = value; break;
    case kCmdWriteOutputPort:
      // Bit 0 low asserts CPU reset; the stored port keeps it high because
      // the machine does not outlive the request.
      reset_requested = !(value & kOutPortReset);
      state_.output_port = value | kOutPortReset;
      break;
    case kCmdWriteKbdBuffer: push(value, false); break;
    case kCmdWriteAuxBuffer: push(value, true); break;
    case kCmdWriteAux: push(kReplyResend, true); break;  // no mouse
    default: break;
  }
  update_irqs(false);
  return reset_requested;
}

void I8042::keyboard_command(uint8_t value) {
  Ps2KeyboardState& kbd = state_.keyboard;
  bool xlate = state_.command_byte & kCbTranslate;
  if (kbd.pending_command == kKbdSetLeds) {
    kbd.pending_command = 0;
    kbd.leds = value & 0x07;
    push(kReplyAck, false);
    return;
  }
  if (kbd.pending_command == kKbdScancodeSet) {
    kbd.pending_command = 0;
    if (value == 0) {
      push(kReplyAck, false);
      push(xlate ? translate(kbd.scancode_set) : kbd.scancode_set, false);
    } else if (value <= 3) {
      kbd.scancode_set = value;
      push(kReplyAck, false);
    } else {
      VMM_GUEST_WARN("{}: keyboard scancode set {:#04x} does not exist", instance_id(), value);
      push(kReplyResend, false);
    }
    return;
  }
  switch (value) {
    case kKbdReset:
      kbd = Ps2KeyboardState{};
      push(kReplyAck, false);
      push(kReplySelfTestOk, false);
      break;
    case kKbdIdentify:
      push(kReplyAck, false);
      push(kReplyIdFirst, false);
      push(xlate ? translate(0x83) : 0x83, false);
      break;
    case kKbdSetLeds:
    case kKbdScancodeSet:
      kbd.pending_command = value;
      push(kReplyAck, false);
      break;
    case kKbdEnable:
      kbd.scanning = true;
      push(kReplyAck, false);
      break;
    case kKbdDisable:
      kbd.scanning = false;
      push(kReplyAck, false);
      break;
    case kKbdDefaults:
      kbd.scanning = true;
      kbd.leds = 0;
      push(kReplyAck, false);
      break;
    case kKbdEcho: push(kKbdEcho, false); break;
    default: push(kReplyAck, false); break;  // typematic rate and the like: accepted
  }
}

void I8042::push(uint8_t byte, bool aux) {
  if (state_.out_count == I8042State::kQueueSize) {
    VMM_GUEST_WARN("{}: output buffer full, byte {:#04x} dropped", instance_id(), byte);
    return;
  }
  size_t slot = (state_.out_head + state_.out_count) % I8042State::kQueueSize;
  state_.out_data[slot] = byte;
  if (aux) state_.out_aux |= static_cast<uint16_t>(1u << slot);
  ++state_.out_count;
  update_irqs(false);
}

void I8042::update_irqs(bool new_head) {
  bool kbd = kbd_line_level(state_);
  bool aux = aux_line_level(state_);
  if (kbd && (!state_.kbd_line || new_head)) kbd_irq_.pulse();
  if (aux && (!state_.aux_line || new_head)) aux_irq_.pulse();
  state_.kbd_line = kbd;
  state_.aux_line = aux;
}

Result<void> I8042::validate(const I8042State& s) const {
  auto bad = [](std::string what) { return Error::make(Errc::kBadSnapshot, "i8042: " + what); };
  if (s.out_head >= I8042State::kQueueSize) return bad(fmt::format("out_head {} out of range", s.out_head));
  if (s.out_count > I8042State::kQueueSize) return bad(fmt::format("out_count {} out of range", s.out_count));
  for (size_t i = s.out_count; i < I8042State::kQueueSize; ++i) {
    size_t slot = (s.out_head + i) % I8042State::kQueueSize;
    if (s.out_data[slot] != 0 || ((s.out_aux >> slot) & 1)) return bad("unused output buffer slot is not clear");
  }
  if (s.pending_command != 0 && !takes_data_byte(s.pending_command)) {
    return bad(fmt::format("pending_command {:#04x} takes no data byte", s.pending_command));
  }
  if (!(s.output_port & kOutPortReset)) return bad("output port holds the CPU in reset");
  const Ps2KeyboardState& k = s.keyboard;
  if (k.pending_command != 0 && k.pending_command != kKbdSetLeds && k.pending_command != kKbdScancodeSet) {
    return bad(fmt::format("keyboard.pending_command {:#04x} takes no data byte", k.pending_command));
  }
  if (k.scancode_set < 1 || k.scancode_set > 3) return bad(fmt::format("scancode set {}", k.scancode_set));
  if (k.leds > 7) return bad(fmt::format("keyboard.leds {:#04x} has reserved bits", k.leds));
  if (s.kbd_line != kbd_line_level(s) || s.aux_line != aux_line_level(s)) {
    return bad("IRQ line levels disagree with the output buffer");
  }
  return {};
}

}  // namespace vmm::dev
