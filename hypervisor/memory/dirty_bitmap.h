// DirtyBitmap: one bit per guest page, set by writes the VMM itself makes
// (device DMA, loaders). KVM's dirty log only sees vCPU writes; live
// migration needs the union of both.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace vmm::hv {

class DirtyBitmap {
 public:
  explicit DirtyBitmap(uint64_t pages) : pages_(pages), words_(new std::atomic<uint64_t>[(pages + 63) / 64]()) {}

  uint64_t pages() const { return pages_; }
  void mark(uint64_t first_page, uint64_t count) {
    for (uint64_t p = first_page; p < first_page + count && p < pages_; ++p) {
      words_[p / 64].fetch_or(uint64_t{1} << (p % 64), std::memory_order_relaxed);
    }
  }
  bool test(uint64_t page) const {
    return page < pages_ && (words_[page / 64].load(std::memory_order_relaxed) >> (page % 64)) & 1;
  }
  // Returns the bitmap words (bit i of word w = page 64w+i) and clears them.
  std::vector<uint64_t> take() {
    std::vector<uint64_t> out((pages_ + 63) / 64);
    for (size_t i = 0; i < out.size(); ++i) out[i] = words_[i].exchange(0, std::memory_order_relaxed);
    return out;
  }

 private:
  uint64_t pages_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace vmm::hv
