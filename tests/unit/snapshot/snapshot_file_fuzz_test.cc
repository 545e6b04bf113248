// A small libFuzzer-free mutation loop over a valid snapshot (fixed seed, so
// failures reproduce): random bit flips, forged fields at the offsets that
// matter (resealed half the time, so they get past the checksums), random
// truncations. The reader must return, never crash, and never allocate more
// than the file could justify.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "snapshot_file_test_support.h"

// Records the largest single allocation while probing. Replacing the global
// operator new is the only way to see allocations inside the reader; delete
// is replaced too so sanitizers see malloc/free pairs. g++ cannot tell that
// the two replacements match once it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> g_probing{false};
std::atomic<size_t> g_largest{0};
}  // namespace

void* operator new(size_t n) {
  if (g_probing.load(std::memory_order_relaxed)) {
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace vmm::snap::testing {
namespace {

class Probe {
 public:
  Probe() {
    g_largest = 0;
    g_probing = true;
  }
  ~Probe() { g_probing = false; }
  size_t largest() const { return g_largest.load(); }
};

// Offsets worth forging: every header field and every field of every table
// entry and chunk header in the sample file.
std::vector<std::pair<uint64_t, size_t>> interesting_fields(const SnapshotReader& r) {
  std::vector<std::pair<uint64_t, size_t>> out = {
      {hdr::kMajor, 2},         {hdr::kMinor, 2},           {hdr::kHeaderSize, 4},        {hdr::kPageSize, 4},
      {hdr::kFileSize, 8},      {hdr::kSectionTable, 8},    {hdr::kSectionCount, 4},      {hdr::kSectionEntrySize, 4},
      {hdr::kRegionTable, 8},   {hdr::kRegionCount, 4},     {hdr::kRegionEntrySize, 4},   {hdr::kArch, 1}};
  for (size_t i = 0; i < r.sections().size(); ++i) {
    uint64_t e = r.index().section_offset + i * sec::kEntrySize;
    for (auto [f, w] : {std::pair<size_t, size_t>{sec::kKind, 1}, {sec::kInstance, 1}, {sec::kVersion, 4},
                        {sec::kMinVersion, 4}, {sec::kFlags, 4}, {sec::kOffset, 8}, {sec::kLength, 8}}) {
      out.emplace_back(e + f, w);
    }
  }
  for (size_t i = 0; i < r.regions().size(); ++i) {
    uint64_t e = r.index().region_offset + i * reg::kEntrySize;
    for (auto [f, w] : {std::pair<size_t, size_t>{reg::kGpa, 8}, {reg::kSize, 8}, {reg::kEncoding, 4},
                        {reg::kChunkSize, 4}, {reg::kOffset, 8}, {reg::kLength, 8}, {reg::kChunkCount, 8}}) {
      out.emplace_back(e + f, w);
    }
    if (r.regions()[i].encoding == Encoding::kLz4) {
      uint64_t c = r.regions()[i].offset;
      for (auto [f, w] : {std::pair<size_t, size_t>{chunk::kGuestOffset, 8}, {chunk::kRawLength, 4},
                          {chunk::kCompressed, 4}}) {
        out.emplace_back(c + f, w);
      }
    }
  }
  return out;
}

uint64_t nasty_value(std::mt19937_64& rng, uint64_t file_size) {
  switch (rng() % 8) {
    case 0: return 0;
    case 1: return ~uint64_t{0};
    case 2: return file_size;
    case 3: return file_size - (rng() % 64);
    case 4: return uint64_t{1} << (rng() % 64);
    case 5: return (uint64_t{1} << (rng() % 64)) - 1;
    case 6: return rng() % 4096;
    default: return rng();
  }
}

TEST(SnapshotFuzz, RandomMutationsNeverCrash) {
  TempDir dir;
  std::string good = dir.file("good.snap");
  std::string bad = dir.file("bad.snap");
  Sample s;
  s.low = sample_memory(16 * 4096, 11);
  ASSERT_TRUE(write_sample(good, s).ok());
  const Bytes original = read_file(good);
  auto reader = SnapshotReader::open(good);
  ASSERT_TRUE(reader.ok());
  const auto fields = interesting_fields(*reader);

  std::mt19937_64 rng(20240601);
  int opened = 0, fully_good = 0;
  constexpr int kIterations = 3000;
  for (int it = 0; it < kIterations; ++it) {
    Bytes f = original;
    int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations && !f.empty(); ++m) {
      switch (rng() % 4) {
        case 0: f[rng() % f.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1:
        case 2: {
          auto [at, width] = fields[rng() % fields.size()];
          if (at + width <= f.size()) codec::put_le(f, at, nasty_value(rng, f.size()), width);
          break;
        }
        default: f.resize(rng() % f.size()); break;
      }
    }
    if (rng() % 2) reseal(f);
    write_file(bad, f);

    Probe probe;
    auto r = SnapshotReader::open(bad);
    if (r.ok()) {
      ++opened;
      bool all_ok = true;
      for (size_t i = 0; i < r->sections().size(); ++i) {
        SectionInfo sec = r->sections()[i];
        all_ok &= r->take(sec.kind, sec.instance).ok();
      }
      for (size_t i = 0; i < r->regions().size(); ++i) {
        if (r->regions()[i].size > (64u << 20)) continue;  // huge all-zero lz4 regions are slow, not wrong
        all_ok &= r->verify_region(i).ok();
      }
      fully_good += all_ok;
    } else {
      EXPECT_FALSE(r.error().message().empty());
    }
    size_t allowed = std::max<size_t>(f.size(), kMaxChunkSize) + 64 * 1024;
    ASSERT_LE(probe.largest(), allowed) << "iteration " << it << " allocated " << probe.largest();
  }
  // The loop must reach past open() often enough to mean something.
  EXPECT_GT(opened, kIterations / 20);
  std::printf("fuzz: %d/%d opened, %d fully verified\n", opened, kIterations, fully_good);
}

}  // namespace
}  // namespace vmm::snap::testing
