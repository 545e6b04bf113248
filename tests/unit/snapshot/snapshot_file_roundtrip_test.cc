// Snapshot format 1 round trips: header fields, sections, sparse raw memory,
// lz4 memory, private mappings, determinism and the file's mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <ctime>

#include "snapshot_file_test_support.h"

namespace vmm::snap::testing {
namespace {

using ::testing::HasSubstr;

TEST(SnapshotFile, HeaderRoundTrips) {
  TempDir dir;
  std::string path = dir.file("s.snap");
  ASSERT_TRUE(write_sample(path, Sample{}).ok());
  auto r = SnapshotReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Header& h = r->header();
  EXPECT_EQ(h.major, 1);
  EXPECT_EQ(h.minor, 0);
  EXPECT_EQ(h.arch, "x86_64");
  EXPECT_EQ(h.page_size, 4096u);
  EXPECT_LE(std::abs(h.creation_time - static_cast<int64_t>(std::time(nullptr))), 60);
  EXPECT_EQ(h.info.vmm_version, "0.1.0-test");
  EXPECT_EQ(h.info.cpu.vendor, "GenuineIntel");
  EXPECT_EQ(h.info.cpu.family, 6u);
  EXPECT_EQ(h.info.cpu.model, 85u);
  EXPECT_EQ(h.info.cpu.stepping, 7u);
  EXPECT_EQ(h.info.cpu.cpuid_hash, 0x1234'5678'9abc'def0u);
  EXPECT_EQ(h.info.tsc_khz, 2'900'000u);
  EXPECT_EQ(h.file_size, read_file(path).size());
}

TEST(SnapshotFile, SectionsRoundTripAndAreConsumedOnce) {
  TempDir dir;
  std::string path = dir.file("s.snap");
  Sample s;
  ASSERT_TRUE(write_sample(path, s).ok());
  auto opened = SnapshotReader::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message();
  SnapshotReader& r = *opened;
  ASSERT_EQ(r.sections().size(), 3u);
  EXPECT_EQ(r.sections()[0].kind, "vcpu");
  EXPECT_EQ(r.sections()[1].instance, "uart0");
  EXPECT_TRUE(r.has("machine", "machine"));
  EXPECT_FALSE(r.has("machine", "uart0"));

  auto cpu = r.take("vcpu", "cpu0");
  ASSERT_TRUE(cpu.ok()) << cpu.error().message();
  EXPECT_EQ(cpu->payload, s.cpu0);
  EXPECT_EQ(cpu->version, 3u);
  EXPECT_EQ(cpu->min_version, 2u);
  EXPECT_EQ(cpu->flags, kSectionMandatory);

  auto again = r.take("vcpu", "cpu0");
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().message(), HasSubstr("section cpu0 (vcpu): taken twice"));
  auto missing = r.take("vcpu", "cpu1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "snapshot " + path + ": section cpu1 (vcpu): missing");

  auto left = r.unconsumed();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].instance, "uart0");
  EXPECT_TRUE(left[0].mandatory);
  EXPECT_EQ(left[1].kind, "machine");
  EXPECT_FALSE(left[1].mandatory);

  auto machine = r.take("machine", "machine");
  ASSERT_TRUE(machine.ok());
  EXPECT_TRUE(machine->payload.empty());
  auto uart = r.take("uart-16550", "uart0");
  ASSERT_TRUE(uart.ok());
  EXPECT_EQ(uart->payload, s.uart0);
  EXPECT_TRUE(r.unconsumed().empty());
}

TEST(SnapshotFile, VersionRuleFollowsQemu) {
  SectionView v{"uart-16550", "uart0", 3, 2, 0, {}};
  EXPECT_TRUE(v.check_version(1, 3).ok());
  EXPECT_TRUE(v.check_version(1, 2).ok());  // newer, but declared readable by 2
  auto too_new = v.check_version(1, 1);
  ASSERT_FALSE(too_new.ok());
  EXPECT_EQ(too_new.error().code(), Errc::kVersionUnsupported);
  EXPECT_THAT(too_new.error().message(), HasSubstr("section uart0 (uart-16550): state version 3"));
  EXPECT_FALSE(v.check_version(4, 5).ok());  // older than the loader reads
}

TEST(SnapshotFile, RawRegionIsSparseAndRoundTrips) {
  TempDir dir;
  std::string path = dir.file("sparse.snap");
  // 256 MiB of guest memory with 1 MiB used, in three places.
  const size_t size = 256u << 20;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  auto* mem = static_cast<uint8_t*>(p);
  Bytes noise = random_bytes(1u << 20, 9);
  std::memcpy(mem, noise.data(), 4096);
  std::memcpy(mem + (100u << 20), noise.data() + 4096, (1u << 20) - 8192);
  std::memcpy(mem + size - 4096, noise.data() + (1u << 20) - 4096, 4096);
  {
    auto w = SnapshotWriter::create(path, sample_info());
    ASSERT_TRUE(w.ok()) << w.error().message();
    ASSERT_TRUE(w->add_memory_region(0x100000, {mem, size}, Encoding::kRaw).ok());
    ASSERT_TRUE(w->commit(true).ok());
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_GE(static_cast<uint64_t>(st.st_size), size);
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 4u << 20) << "zero pages should be holes";

  auto r = SnapshotReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->regions().size(), 1u);
  EXPECT_EQ(r->regions()[0].gpa, 0x100000u);
  EXPECT_EQ(r->regions()[0].size, size);
  EXPECT_EQ(r->regions()[0].offset % 4096, 0u);
  EXPECT_TRUE(r->verify_region(0).ok());
  for (bool zeroed : {false, true}) {
    void* q = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_NE(q, MAP_FAILED);
    auto* dest = static_cast<uint8_t*>(q);
    if (!zeroed) std::memset(dest, 0xee, size);
    auto read = r->read_region(0, {dest, size}, zeroed);
    EXPECT_TRUE(read.ok()) << read.error().message();
    EXPECT_EQ(std::memcmp(dest, mem, size), 0);
    ::munmap(q, size);
  }
  EXPECT_FALSE(r->read_region(0, {mem, size - 4096}).ok());  // wrong destination size
  ::munmap(p, size);
}

TEST(SnapshotFile, Lz4RegionRoundTripsAndIsCompact) {
  TempDir dir;
  std::string path = dir.file("lz4.snap");
  Sample s;
  ASSERT_TRUE(write_sample(path, s).ok());
  auto r = SnapshotReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->regions().size(), 2u);
  const RegionInfo& lz = r->regions()[1];
  EXPECT_EQ(lz.encoding, Encoding::kLz4);
  EXPECT_EQ(lz.gpa, 1u << 30);
  EXPECT_EQ(lz.size, s.high.size());
  EXPECT_EQ(lz.chunk_size, kLz4ChunkSize);
  EXPECT_EQ(lz.chunk_count, 2u);
  EXPECT_LT(lz.length, 32u * 1024) << "mostly zero memory compresses";
  EXPECT_TRUE(r->verify_region(1).ok());
  Bytes dest(lz.size, 0xee);
  auto read = r->read_region(1, dest);
  ASSERT_TRUE(read.ok()) << read.error().message();
  EXPECT_EQ(dest, s.high);
  Bytes zeroed(lz.size, 0);
  ASSERT_TRUE(r->read_region(1, zeroed, true).ok());
  EXPECT_EQ(zeroed, s.high);
  Bytes low(s.low.size());
  ASSERT_TRUE(r->read_region(0, low).ok());
  EXPECT_EQ(low, s.low);
  auto map = r->map_region_private(1);
  ASSERT_FALSE(map.ok());
  EXPECT_THAT(map.error().message(), HasSubstr("region 1: lz4 regions cannot be mapped"));
}

TEST(SnapshotFile, AbsentLz4ChunksReadAsZero) {
  TempDir dir;
  std::string path = dir.file("zero.snap");
  Bytes zeros(3u << 20, 0);
  zeros[(1u << 20) + 5] = 7;  // only the middle chunk has data
  auto w = SnapshotWriter::create(path, sample_info());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->add_memory_region(0, zeros, Encoding::kLz4).ok());
  ASSERT_TRUE(w->commit(false).ok());
  auto r = SnapshotReader::open(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->regions()[0].chunk_count, 1u);
  Bytes dest(zeros.size(), 0xff);
  ASSERT_TRUE(r->read_region(0, dest).ok());
  EXPECT_EQ(dest, zeros);
}

// With the memfd behind guest memory, never-touched ranges are skipped
// without being read, so saving does not allocate them.
TEST(SnapshotFile, MemfdHolesAreNeverTouched) {
  TempDir dir;
  const size_t size = 64u << 20;
  const uint64_t memfd_offset = 2u << 20;  // the region starts inside the memfd
  int fd = ::memfd_create("snapshot-test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(memfd_offset + size)), 0);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(memfd_offset));
  ASSERT_NE(p, MAP_FAILED);
  auto* mem = static_cast<uint8_t*>(p);
  Bytes noise = random_bytes(5 * 4096, 12);
  std::memcpy(mem + (3u << 20) + 8192, noise.data(), 4096);           // inside a chunk: staged
  std::memcpy(mem + (10u << 20), noise.data() + 4096, 4 * 4096);      // a chunk's start
  std::memset(mem + (20u << 20), 0, 4096);                            // touched, still zero
  struct stat before {};
  ASSERT_EQ(::fstat(fd, &before), 0);
  for (Encoding e : {Encoding::kRaw, Encoding::kLz4}) {
    auto w = SnapshotWriter::create(dir.file(encoding_name(e)), sample_info());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->add_memory_region(0, {mem, size}, e, MemoryBacking{fd, memfd_offset}).ok());
    ASSERT_TRUE(w->commit(false).ok());
  }
  struct stat after {};
  ASSERT_EQ(::fstat(fd, &after), 0);
  EXPECT_EQ(after.st_blocks, before.st_blocks) << "saving allocated guest memory";
  EXPECT_LT(after.st_blocks * 512, 1 << 20);
  // Comparing reads (and so allocates) all of it; that comes last.
  for (Encoding e : {Encoding::kRaw, Encoding::kLz4}) {
    auto r = SnapshotReader::open(dir.file(encoding_name(e)));
    ASSERT_TRUE(r.ok()) << r.error().message();
    Bytes dest(size, 0xcc);
    auto read = r->read_region(0, dest);
    ASSERT_TRUE(read.ok()) << read.error().message();
    EXPECT_EQ(std::memcmp(dest.data(), mem, size), 0) << encoding_name(e);
    if (e == Encoding::kLz4) {
      EXPECT_EQ(r->regions()[0].chunk_count, 2u);
    }
  }
  ::munmap(p, size);
  ::close(fd);
}

TEST(SnapshotFile, PrivateMappingGivesBytesAndKeepsTheFile) {
  TempDir dir;
  std::string path = dir.file("map.snap");
  Sample s;
  ASSERT_TRUE(write_sample(path, s).ok());
  Bytes before = read_file(path);
  auto r = SnapshotReader::open(path);
  ASSERT_TRUE(r.ok());
  {
    auto m = r->map_region_private(0);
    ASSERT_TRUE(m.ok()) << m.error().message();
    ASSERT_EQ(m->size(), s.low.size());
    EXPECT_EQ(std::memcmp(m->data(), s.low.data(), s.low.size()), 0);
    std::memset(m->data(), 0xab, 3 * 4096);  // guest writes: one data page, holes
    m->data()[m->size() - 1] = 0;
    EXPECT_EQ(m->data()[4096], 0xab);
  }
  EXPECT_EQ(read_file(path), before) << "writes to a private mapping reached the file";
  auto again = r->map_region_private(0);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::memcmp(again->data(), s.low.data(), s.low.size()), 0);
  EXPECT_FALSE(r->map_region_private(2).ok());
}

// Creation time and the header checksum covering it are the only bytes that
// may differ between two saves of the same state.
void mask_time(Bytes& f) {
  ASSERT_GE(f.size(), kHeaderSize);
  std::fill_n(f.begin() + hdr::kCreationTime, 8, 0);
  std::fill_n(f.begin() + hdr::kChecksum, 8, 0);
}

TEST(SnapshotFile, SameInputGivesSameBytes) {
  TempDir dir;
  Sample s;
  ASSERT_TRUE(write_sample(dir.file("a.snap"), s).ok());
  ASSERT_TRUE(write_sample(dir.file("b.snap"), s).ok());
  Bytes a = read_file(dir.file("a.snap"));
  Bytes b = read_file(dir.file("b.snap"));
  mask_time(a);
  mask_time(b);
  EXPECT_EQ(a, b);
  Sample other;
  other.uart0[3] ^= 1;
  ASSERT_TRUE(write_sample(dir.file("c.snap"), other).ok());
  Bytes c = read_file(dir.file("c.snap"));
  mask_time(c);
  EXPECT_NE(a, c);
}

TEST(SnapshotFile, ModeIs0600AndAStaleTmpIsReplaced) {
  TempDir dir;
  std::string path = dir.file("m.snap");
  write_file(path + ".tmp", Bytes(100, 1));  // a crashed run's leftover
  ASSERT_EQ(::chmod((path + ".tmp").c_str(), 0666), 0);
  mode_t old_umask = ::umask(0);
  auto w = SnapshotWriter::create(path, sample_info());
  ::umask(old_umask);
  ASSERT_TRUE(w.ok()) << w.error().message();
  struct stat st {};
  ASSERT_EQ(::stat((path + ".tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 0);
  ASSERT_TRUE(w->add_section({"machine", "machine"}, Bytes{1, 2, 3}).ok());
  ASSERT_TRUE(w->commit(true).ok());
  EXPECT_FALSE(exists(path + ".tmp"));
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), w->file_size());
}

TEST(SnapshotFile, ProgressReachesTheTotal) {
  TempDir dir;
  Bytes mem = sample_memory(8u << 20, 5);
  auto w = SnapshotWriter::create(dir.file("p.snap"), sample_info());
  ASSERT_TRUE(w.ok());
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  w->set_progress(2 * mem.size(), [&](uint64_t done, uint64_t total) { seen.emplace_back(done, total); });
  ASSERT_TRUE(w->add_memory_region(0, mem, Encoding::kRaw).ok());
  ASSERT_TRUE(w->add_memory_region(mem.size(), mem, Encoding::kLz4).ok());
  ASSERT_TRUE(w->commit(false).ok());
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.back(), std::make_pair(2 * mem.size(), 2 * mem.size()));
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i].first, seen[i - 1].first);
}

TEST(SnapshotFile, WriterRejectsMisuseAndRemovesTmp) {
  TempDir dir;
  std::string path = dir.file("bad.snap");
  auto attempt = [&](auto&& misuse) {
    auto w = SnapshotWriter::create(path, sample_info());
    EXPECT_TRUE(w.ok());
    ASSERT_TRUE(w->add_section({"vcpu", "cpu0"}, Bytes(8)).ok());
    auto r = misuse(*w);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_THAT(r.error().message(), HasSubstr("snapshot " + path));
    EXPECT_FALSE(exists(path + ".tmp"));
    EXPECT_FALSE(w->commit(false).ok()) << "a failed writer must stay failed";
    EXPECT_FALSE(exists(path));
  };
  Bytes page(4096, 1);
  attempt([&](SnapshotWriter& w) { return w.add_section({"vcpu", "cpu0"}, page); });     // twice
  attempt([&](SnapshotWriter& w) { return w.add_section({"v cpu", "cpu1"}, page); });    // space
  attempt([&](SnapshotWriter& w) { return w.add_section({"", "cpu1"}, page); });         // empty
  attempt([&](SnapshotWriter& w) { return w.add_section({std::string(65, 'k'), "x"}, page); });
  attempt([&](SnapshotWriter& w) { return w.add_section({"vcpu", "cpu1", 1, 2}, page); });  // min > version
  attempt([&](SnapshotWriter& w) { return w.add_memory_region(0x800, page, Encoding::kRaw); });
  attempt([&](SnapshotWriter& w) { return w.add_memory_region(0, Bytes(100), Encoding::kRaw); });
  attempt([&](SnapshotWriter& w) { return w.add_memory_region(0, page, static_cast<Encoding>(7)); });
  attempt([&](SnapshotWriter& w) {
    EXPECT_TRUE(w.add_memory_region(0, Bytes(8192), Encoding::kRaw).ok());
    return w.add_memory_region(4096, page, Encoding::kLz4);  // overlap
  });
  EXPECT_FALSE(SnapshotWriter::create(path, HeaderInfo{std::string(33, 'v'), {}, 0}).ok());
}

TEST(SnapshotFile, UncommittedWriterLeavesNothing) {
  TempDir dir;
  std::string path = dir.file("gone.snap");
  {
    auto w = SnapshotWriter::create(path, sample_info());
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->add_section({"vcpu", "cpu0"}, Bytes(8)).ok());
    SnapshotWriter moved = std::move(w).value();  // moving keeps one owner
    EXPECT_TRUE(exists(path + ".tmp"));
  }
  EXPECT_FALSE(exists(path + ".tmp"));
  EXPECT_FALSE(exists(path));
}

}  // namespace
}  // namespace vmm::snap::testing
