// Bad input to `vmm run`: each case is one line on stderr and the documented
// exit status (1 runtime failure, 2 bad command line), and nothing crashes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "tests/kvm/kvm_test_support.h"

namespace vmm::test {
namespace {

int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

struct Outcome {
  int status;
  std::string err;
};

Outcome run_vmm(std::vector<std::string> argv) {
  VmmProcess p(std::move(argv));
  int status = p.wait_exit();
  return {status, p.errors()};
}

std::string temp_file(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "vmm-bad-input-" + std::to_string(getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Usage errors need no KVM: the command line is checked first.
TEST(BadCommandLine, CpusZeroIsAUsageError) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf(), "--cpus", "0"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("--cpus"), std::string::npos) << o.err;
}

TEST(BadCommandLine, MissingKernelOptionIsAUsageError) {
  auto o = run_vmm({vmm_binary(), "run"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--kernel is required"), std::string::npos) << o.err;
}

TEST(BadCommandLine, UnknownOptionAndCommand) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf(), "--frobnicate"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("--frobnicate"), std::string::npos) << o.err;
  o = run_vmm({vmm_binary(), "fly"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("unknown command 'fly'"), std::string::npos) << o.err;
}

TEST(BadCommandLine, BadMemorySize) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf(), "--memory", "lots"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
}

TEST(BadCommandLine, HelpExitsZero) {
  VmmProcess p({vmm_binary(), "run", "--help"});
  EXPECT_EQ(p.wait_exit(), 0);
  EXPECT_NE(p.output().find("Usage: vmm run"), std::string::npos);
}

class BadRunInput : public KvmTest {};

TEST_F(BadRunInput, MissingKernelFile) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", "/nonexistent/kernel.elf"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("/nonexistent/kernel.elf"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("No such file"), std::string::npos) << o.err;
}

TEST_F(BadRunInput, UnreadableKernelFile) {
  // A directory cannot be read as a kernel (root ignores file modes).
  auto o = run_vmm({vmm_binary(), "run", "--kernel", "/"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("not a regular file"), std::string::npos) << o.err;
}

TEST_F(BadRunInput, NotAPvhElf) {
  std::string text = temp_file("text", "this is not a kernel\n");
  auto o = run_vmm({vmm_binary(), "run", "--kernel", text});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("not an ELF"), std::string::npos) << o.err;
  // An ELF without a PVH note: the vmm binary itself.
  o = run_vmm({vmm_binary(), "run", "--kernel", vmm_binary()});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("PVH"), std::string::npos) << o.err;
  std::remove(text.c_str());
}

// A minimal PVH ELF64 whose one segment wants 64 MiB at 1 MiB.
std::string big_pvh_elf() {
  std::string f(64 + 2 * 56 + 24, '\0');
  auto put = [&](size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) f[at + i] = static_cast<char>(v >> (8 * i));
  };
  f.replace(0, 4, "\x7f" "ELF");
  put(4, 2, 1), put(5, 1, 1), put(6, 1, 1);              // 64-bit, little-endian, version
  put(16, 2, 2), put(18, 62, 2), put(20, 1, 4);          // ET_EXEC, EM_X86_64
  put(24, 0x100000, 8), put(32, 64, 8);                  // entry, phoff
  put(52, 64, 2), put(54, 56, 2), put(56, 2, 2);         // ehsize, phentsize, phnum
  size_t load = 64, note = 64 + 56, note_data = 64 + 112;
  put(load, 1, 4), put(load + 4, 7, 4);                  // PT_LOAD, RWX
  put(load + 8, note_data, 8), put(load + 16, 0x100000, 8), put(load + 24, 0x100000, 8);
  put(load + 32, 24, 8), put(load + 40, 64 << 20, 8);    // filesz, memsz
  put(note, 4, 4), put(note + 8, note_data, 8), put(note + 32, 24, 8);  // PT_NOTE
  put(note_data, 4, 4), put(note_data + 4, 4, 4), put(note_data + 8, 18, 4);  // "Xen", 4 bytes, type 18
  f.replace(note_data + 12, 4, std::string("Xen\0", 4));
  put(note_data + 16, 0x100000, 4);
  return f;
}

TEST_F(BadRunInput, MemoryTooSmallForTheImage) {
  std::string elf = temp_file("big.elf", big_pvh_elf());
  auto o = run_vmm({vmm_binary(), "run", "--kernel", elf, "--memory", "16M"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("MiB"), std::string::npos) << o.err;
  std::remove(elf.c_str());
}

TEST(BadCommandLine, MemoryBelowTheMinimum) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf(), "--memory", "1M"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("too small"), std::string::npos) << o.err;
}

TEST_F(BadRunInput, MoreVcpusThanKvmAllows) {
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf(), "--cpus", "4096"});
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("--cpus 4096"), std::string::npos) << o.err;
}

TEST_F(BadRunInput, NoAccessToKvm) {
  // VMM_KVM_DEVICE points vmm at another device node, for exactly this test.
  setenv("VMM_KVM_DEVICE", "/nonexistent/kvm", 1);
  auto o = run_vmm({vmm_binary(), "run", "--kernel", testguest_elf()});
  unsetenv("VMM_KVM_DEVICE");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(line_count(o.err), 1) << o.err;
  EXPECT_NE(o.err.find("KVM unavailable"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace vmm::test
