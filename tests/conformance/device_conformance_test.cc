// Device conformance (design §7.2): one typed suite over every device. Each
// factory builds its device on fakes and knows a deterministic mutate() that
// changes guest-visible state through the bus, as a guest would. Every
// property compares saved bytes, so each one fails when a device's
// save/load/validate misbehaves.
//
// Goldens live in GOLDEN_DIR: <type>/v<N>.bin (the state after mutate() from
// power-on, saved at version N) and schema/<type>.txt. Run with
// VMM_UPDATE_GOLDEN=1 to rewrite them for the current version.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "devices/legacy/cmos_rtc.h"
#include "devices/legacy/debug_exit.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/post_port.h"
#include "devices/legacy/uart_16550.h"
#include "tests/fakes/bus_harness.h"
#include "tests/fakes/fake_timer_factory.h"
#include "tests/fakes/recording_irq_line.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must name tests/golden"
#endif

namespace vmm::dev {
namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------- factories
// Each: kName (test name), device(), mutate(), and kNoGuestStateReason, which
// is non-null only for a device whose state holds nothing guest-visible.

struct UartFactory {
  static constexpr const char* kName = "Uart16550";
  static constexpr const char* kNoGuestStateReason = nullptr;
  UartFactory() { bus.attach(0x3f8, Uart16550::kRegisterCount, uart); }
  Device& device() { return uart; }
  void mutate() {
    bus.outb(0x3fb, 0x83);  // DLAB: 115200 baud
    bus.outb(0x3f8, 0x01);
    bus.outb(0x3f9, 0x00);
    bus.outb(0x3fb, 0x03);
    bus.outb(0x3fa, 0xc7);  // FIFO, trigger 14, cleared
    bus.outb(0x3fc, 0x1b);  // loopback with DTR, RTS, OUT2
    for (char c : std::string("hello")) bus.outb(0x3f8, static_cast<uint8_t>(c));
    bus.inb(0x3f8);         // consume 'h': the ring head moves
    bus.outb(0x3f9, 0x0f);  // every interrupt: the line goes up
    bus.outb(0x3ff, 0x5a);
  }
  void exercise() {
    for (uint16_t port = 0x3f8; port < 0x400; ++port) bus.inb(port);
    mutate();
  }
  test::RecordingIrqLine irq;
  Uart16550 uart{"uart0", irq, [](std::span<const uint8_t>) {}};
  test::BusHarness bus;
};

struct I8042Factory {
  static constexpr const char* kName = "I8042";
  static constexpr const char* kNoGuestStateReason = nullptr;
  I8042Factory() { EXPECT_TRUE(kbc.attach(bus).ok()); }
  Device& device() { return kbc; }
  void mutate() {
    bus.outb(0x64, 0x60);
    bus.outb(0x60, 0x47);  // both interrupts, translation
    bus.outb(0x60, 0xed);  // keyboard LEDs
    bus.outb(0x60, 0x05);
    bus.outb(0x60, 0xf2);  // identify: three more bytes queued
    bus.inb(0x60);         // the head moves
    bus.outb(0x64, 0xd3);  // a byte from the aux side
    bus.outb(0x60, 0x5a);
    bus.outb(0x60, 0xf0);  // keyboard waits for a scancode set
    bus.outb(0x64, 0xd1);  // controller waits for an output-port byte
  }
  void exercise() {
    for (int i = 0; i < 20; ++i) bus.inb(0x60);
    bus.inb(0x64);
    mutate();
  }
  test::RecordingIrqLine irq1, irq12;
  int resets = 0;
  I8042 kbc{"i8042", irq1, irq12, [this] { ++resets; }};
  test::BusHarness bus;
};

struct CmosRtcFactory {
  static constexpr const char* kName = "CmosRtc";
  static constexpr const char* kNoGuestStateReason = nullptr;
  CmosRtcFactory() { EXPECT_TRUE(rtc.attach(bus).ok()); }
  Device& device() { return rtc; }
  void set(uint8_t index, uint8_t value) {
    bus.outb(0x70, index);
    bus.outb(0x71, value);
  }
  void mutate() {
    set(0x01, 0x30);  // alarm at hh:mm:30, any hour and minute
    set(0x03, 0xc0);
    set(0x05, 0xff);
    set(0x0a, 0x2a);  // 64 Hz periodic rate
    set(0x0b, 0x66);  // PIE | AIE, binary, 24-hour
    set(0x40, 0xa5);  // RAM
    set(0x7f, 0x3c);
    bus.outb(0x70, 0x8c);  // NMI off, reg C selected
  }
  void exercise() {
    for (uint8_t i = 0; i < 128; ++i) {
      bus.outb(0x70, i);
      bus.inb(0x71);
    }
    mutate();
  }
  // The fake clock starts at a fixed instant, so the golden is deterministic.
  test::FakeTimerFactory timers;
  test::RecordingIrqLine irq;
  CmosRtc rtc{"rtc", irq, timers};
  test::BusHarness bus;
};

struct DebugExitFactory {
  static constexpr const char* kName = "DebugExit";
  static constexpr const char* kNoGuestStateReason =
      "debug-exit has no guest-visible state: a write ends the VM and reads are constant";
  DebugExitFactory() { EXPECT_TRUE(dev.attach(bus).ok()); }
  Device& device() { return dev; }
  void mutate() { bus.outl(0xf4, 0x10); }
  void exercise() {
    bus.inl(0xf4);
    mutate();
  }
  std::vector<int> statuses;
  DebugExit dev{"debug-exit", [this](int s) { statuses.push_back(s); }};
  test::BusHarness bus;
};

struct PostPortFactory {
  static constexpr const char* kName = "PostPort";
  static constexpr const char* kNoGuestStateReason = nullptr;
  PostPortFactory() { EXPECT_TRUE(dev.attach(bus).ok()); }
  Device& device() { return dev; }
  void mutate() { bus.outb(0x80, 0x42); }
  void exercise() {
    bus.inb(0x80);
    mutate();
  }
  PostPort dev{"post"};
  test::BusHarness bus;
};

// ---------------------------------------------------------------- helpers

Bytes save_ok(Device& d) {
  auto r = d.save();
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? std::move(r).value() : Bytes{};
}

bool updating_goldens() {
  const char* v = std::getenv("VMM_UPDATE_GOLDEN");
  return v && std::string(v) == "1";
}

std::filesystem::path golden_path(const std::string& relative) {
  return (std::filesystem::path(GOLDEN_DIR) / relative).lexically_normal();
}

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

template <class F>
class DeviceConformance : public ::testing::Test {
 protected:
  // The paused state after the factory's mutation from power-on.
  Bytes mutated_state(F& f) {
    f.mutate();
    EXPECT_TRUE(f.device().pause().ok());
    return save_ok(f.device());
  }
};

struct FactoryNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Factories = ::testing::Types<UartFactory, I8042Factory, CmosRtcFactory, DebugExitFactory, PostPortFactory>;
TYPED_TEST_SUITE(DeviceConformance, Factories, FactoryNames);

// ---------------------------------------------------------------- properties

// (a) save S -> mutate -> load(S) -> save == S, from power-on and from a
// mutated state.
TYPED_TEST(DeviceConformance, SaveMutateLoadSaveIsByteEqual) {
  TypeParam f;
  Device& d = f.device();
  ASSERT_TRUE(d.pause().ok());
  Bytes s = save_ok(d);
  f.mutate();
  ASSERT_TRUE(d.load(s, d.state_version().current).ok());
  ASSERT_TRUE(d.post_load().ok());
  EXPECT_EQ(save_ok(d), s);

  Bytes m = this->mutated_state(f);
  d.reset();
  f.mutate();
  f.mutate();
  auto r = d.load(m, d.state_version().current);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_TRUE(d.post_load().ok());
  EXPECT_EQ(save_ok(d), m);
}

// (b) save -> mutate -> save differs: mutate() reaches the state.
TYPED_TEST(DeviceConformance, SaveMutateSaveDiffers) {
  if (TypeParam::kNoGuestStateReason) GTEST_SKIP() << TypeParam::kNoGuestStateReason;
  TypeParam f;
  Device& d = f.device();
  ASSERT_TRUE(d.pause().ok());
  Bytes before = save_ok(d);
  f.mutate();
  EXPECT_NE(save_ok(d), before);
}

// Goldens can only be deterministic if the mutation is.
TYPED_TEST(DeviceConformance, MutationIsDeterministic) {
  TypeParam f1, f2;
  EXPECT_EQ(this->mutated_state(f1), this->mutated_state(f2));
}

// (c) pause and resume are idempotent.
TYPED_TEST(DeviceConformance, PauseAndResumeAreIdempotent) {
  TypeParam f;
  Device& d = f.device();
  f.mutate();
  ASSERT_TRUE(d.pause().ok());
  Bytes first = save_ok(d);
  ASSERT_TRUE(d.pause().ok());
  EXPECT_EQ(save_ok(d), first);
  ASSERT_TRUE(d.resume().ok());
  ASSERT_TRUE(d.resume().ok());
  ASSERT_TRUE(d.pause().ok());
  EXPECT_EQ(save_ok(d), first);  // no time passed on the fakes
}

// (d) every strict prefix is rejected and leaves the device as it was.
TYPED_TEST(DeviceConformance, TruncatedSectionsRejectedAndDeviceUnchanged) {
  TypeParam f;
  Device& d = f.device();
  Bytes s = this->mutated_state(f);
  uint32_t v = d.state_version().current;
  for (size_t n = 0; n < s.size(); ++n) {
    SCOPED_TRACE(n);
    auto r = d.load(std::span(s.data(), n), v);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kBadSnapshot);
    ASSERT_EQ(save_ok(d), s);
  }
}

// (d) every single-bit flip is either rejected with the device unchanged or
// accepted exactly: it re-saves to the flipped bytes, and the device then
// survives guest accesses (run this under ASan).
TYPED_TEST(DeviceConformance, BitFlipsRejectedOrExactlyRoundTrip) {
  TypeParam f;
  Device& d = f.device();
  Bytes s = this->mutated_state(f);
  uint32_t v = d.state_version().current;
  size_t accepted = 0;
  for (size_t bit = 0; bit < s.size() * 8; ++bit) {
    SCOPED_TRACE(bit);
    Bytes flipped = s;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = d.load(flipped, v);
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Errc::kBadSnapshot);
      ASSERT_EQ(save_ok(d), s);
      continue;
    }
    ++accepted;
    ASSERT_TRUE(d.post_load().ok());
    ASSERT_EQ(save_ok(d), flipped);
    f.exercise();
    ASSERT_TRUE(d.load(s, v).ok());
    ASSERT_TRUE(d.post_load().ok());
  }
  this->RecordProperty("accepted_bit_flips", static_cast<int>(accepted));
}

// (d) a section with one byte too many is rejected.
TYPED_TEST(DeviceConformance, OversizedSectionRejected) {
  TypeParam f;
  Device& d = f.device();
  Bytes s = this->mutated_state(f);
  for (uint8_t extra : {0x00, 0x01, 0xff}) {
    Bytes longer = s;
    longer.push_back(extra);
    auto r = d.load(longer, d.state_version().current);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kBadSnapshot);
    EXPECT_EQ(save_ok(d), s);
  }
}

// (d) versions outside [minimum, current] are refused before decoding.
TYPED_TEST(DeviceConformance, VersionsOutsideRangeRejected) {
  TypeParam f;
  Device& d = f.device();
  Bytes s = this->mutated_state(f);
  StateVersion sv = d.state_version();
  ASSERT_GE(sv.current, sv.minimum);
  auto above = d.load(s, sv.current + 1);
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(above.error().code(), Errc::kVersionUnsupported);
  auto below = d.load(s, sv.minimum - 1);
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().code(), Errc::kVersionUnsupported);
  EXPECT_EQ(save_ok(d), s);
}

// (e) every golden version in [minimum, current] loads; the current one
// re-saves byte-equal.
TYPED_TEST(DeviceConformance, GoldenStatesLoad) {
  TypeParam f;
  Device& d = f.device();
  std::string type(d.type_name());
  StateVersion sv = d.state_version();
  if (updating_goldens()) {
    Bytes s = this->mutated_state(f);
    auto p = golden_path(type + "/v" + std::to_string(sv.current) + ".bin");
    write_file(p, std::string(s.begin(), s.end()));
    GTEST_SKIP() << "VMM_UPDATE_GOLDEN=1: wrote " << p;
  }
  for (uint32_t v = sv.minimum; v <= sv.current; ++v) {
    SCOPED_TRACE(v);
    auto p = golden_path(type + "/v" + std::to_string(v) + ".bin");
    auto content = read_file(p);
    ASSERT_TRUE(content) << "missing golden " << p << " (generate with VMM_UPDATE_GOLDEN=1)";
    Bytes golden(content->begin(), content->end());
    TypeParam fresh;
    Device& g = fresh.device();
    ASSERT_TRUE(g.pause().ok());
    auto r = g.load(golden, v);
    ASSERT_TRUE(r.ok()) << p << ": " << r.error().message();
    ASSERT_TRUE(g.post_load().ok());
    if (v == sv.current) {
      EXPECT_EQ(save_ok(g), golden) << p;
    }
  }
}

// (f) the schema matches its golden; a change needs a version bump and a new
// golden.
TYPED_TEST(DeviceConformance, SchemaMatchesGolden) {
  TypeParam f;
  Device& d = f.device();
  auto p = golden_path("schema/" + std::string(d.type_name()) + ".txt");
  if (updating_goldens()) {
    write_file(p, d.schema());
    GTEST_SKIP() << "VMM_UPDATE_GOLDEN=1: wrote " << p;
  }
  auto content = read_file(p);
  ASSERT_TRUE(content) << "missing golden " << p << " (generate with VMM_UPDATE_GOLDEN=1)";
  EXPECT_EQ(d.schema(), *content) << "schema of " << d.type_name()
                                  << " changed: bump its state version and add a golden";
}

}  // namespace
}  // namespace vmm::dev
