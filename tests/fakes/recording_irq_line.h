// RecordingIrqLine: an IrqLine for unit tests that remembers every call, so a
// test can assert both the current level and the edges a device produced
// (pulse() shows up as a rising edge followed by a fall).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "devices/irq.h"

namespace vmm::test {

class RecordingIrqLine : public dev::IrqLine {
 public:
  void set_level(bool high) override {
    std::lock_guard lock(mutex_);
    calls_.push_back(high);
    if (high && !level_) ++rising_edges_;
    level_ = high;
  }

  bool level() const {
    std::lock_guard lock(mutex_);
    return level_;
  }
  // Low-to-high transitions since construction or clear(); a pulse counts once.
  size_t rising_edges() const {
    std::lock_guard lock(mutex_);
    return rising_edges_;
  }
  // Every set_level() argument in order, including calls that did not change
  // the level (a device re-driving its line shows up here).
  std::vector<bool> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  // Forgets the history but keeps the level, as the wire would.
  void clear() {
    std::lock_guard lock(mutex_);
    calls_.clear();
    rising_edges_ = 0;
  }

 private:
  mutable std::mutex mutex_;
  bool level_ = false;
  size_t rising_edges_ = 0;
  std::vector<bool> calls_;
};

}  // namespace vmm::test
