// BusHarness: a PioBus with the in/out helpers a unit test drives devices
// with, the way a guest's port I/O would reach them (little-endian, one
// access of the given width).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "devices/bus.h"

namespace vmm::test {

class BusHarness : public dev::PioBus {
 public:
  // Registers a range and fails the current test if the bus refuses it.
  void attach(uint64_t base, uint64_t length, dev::BusDevice& device) {
    auto r = insert(base, length, device);
    ASSERT_TRUE(r.ok()) << r.error().message();
  }

  uint8_t inb(uint16_t port) { return static_cast<uint8_t>(in(port, 1)); }
  uint16_t inw(uint16_t port) { return static_cast<uint16_t>(in(port, 2)); }
  uint32_t inl(uint16_t port) { return static_cast<uint32_t>(in(port, 4)); }
  void outb(uint16_t port, uint8_t v) { out(port, v, 1); }
  void outw(uint16_t port, uint16_t v) { out(port, v, 2); }
  void outl(uint16_t port, uint32_t v) { out(port, v, 4); }

  // Whether the last access was claimed by a device.
  bool last_claimed() const { return last_claimed_; }

 private:
  uint64_t in(uint16_t port, size_t size) {
    std::array<uint8_t, 4> buf{};
    last_claimed_ = read(port, std::span<uint8_t>(buf.data(), size));
    uint64_t v = 0;
    for (size_t i = 0; i < size; ++i) v |= uint64_t{buf[i]} << (8 * i);
    return v;
  }
  void out(uint16_t port, uint64_t v, size_t size) {
    std::array<uint8_t, 4> buf{};
    for (size_t i = 0; i < size; ++i) buf[i] = static_cast<uint8_t>(v >> (8 * i));
    last_claimed_ = write(port, std::span<const uint8_t>(buf.data(), size));
  }

  bool last_claimed_ = false;
};

}  // namespace vmm::test
