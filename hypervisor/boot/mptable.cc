#include "hypervisor/boot/mptable.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "hypervisor/boot/x86_layout.h"

namespace vmm::hv::boot {
namespace {

// Appends raw structs to the table under construction.
class TableWriter {
 public:
  template <PlainData T>
  void append(const T& value) {
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof value);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

template <size_t N>
void set_chars(char (&field)[N], const char* text) {
  // Space-padded, not NUL-terminated (MP spec §4.2: OEM and product ids).
  std::memset(field, ' ', N);
  std::memcpy(field, text, std::min(N, std::strlen(text)));
}

MpInterruptEntry interrupt(MpEntryType type, MpInterruptType int_type, uint8_t src_irq, uint8_t dst_id,
                           uint8_t dst_pin) {
  return MpInterruptEntry{type, int_type, 0, kMpIsaBusId, src_irq, dst_id, dst_pin};
}

}  // namespace

uint8_t mp_checksum(std::span<const uint8_t> bytes) {
  uint8_t sum = 0;
  for (uint8_t b : bytes) sum = static_cast<uint8_t>(sum + b);
  return sum;
}

Result<std::vector<uint8_t>> build_mptable(uint32_t cpus, const MpCpuInfo& cpu) {
  if (cpus < 1 || cpus > kMaxCpus) {
    return Error::make(Errc::kInvalidArgument,
                       fmt::format("MP table: {} vCPUs is out of range (1 to {})", cpus, kMaxCpus));
  }
  TableWriter w;
  MpFloatingPointer fp{};
  std::memcpy(fp.signature, "_MP_", 4);
  fp.config_addr = static_cast<uint32_t>(kMpTableAddr + sizeof fp);
  fp.length = 1;
  fp.spec_rev = 4;
  w.append(fp);

  // The header is filled in last, once length and entry count are known.
  const size_t header_at = w.bytes().size();
  w.append(MpConfigHeader{});
  uint16_t entries = 0;

  for (uint32_t i = 0; i < cpus; ++i) {
    MpProcessorEntry p{};
    p.type = kMpProcessor;
    p.lapic_id = static_cast<uint8_t>(i);
    p.lapic_version = kMpLapicVersion;
    p.cpu_flags = static_cast<uint8_t>(kMpCpuEnabled | (i == 0 ? kMpCpuBsp : 0));
    p.cpu_signature = cpu.signature;
    p.feature_flags = cpu.features;
    w.append(p);
    ++entries;
  }

  MpBusEntry bus{};
  bus.type = kMpBus;
  bus.bus_id = kMpIsaBusId;
  std::memcpy(bus.bus_type, "ISA   ", 6);
  w.append(bus);
  ++entries;

  // The IOAPIC takes the first APIC id after the vCPUs'.
  const auto ioapic_id = static_cast<uint8_t>(cpus);
  w.append(MpIoapicEntry{kMpIoapic, ioapic_id, kMpIoapicVersion, 1, static_cast<uint32_t>(kIoapicAddr)});
  ++entries;

  for (uint32_t irq = 0; irq < kMpIsaIrqs; ++irq) {
    auto n = static_cast<uint8_t>(irq);
    w.append(interrupt(kMpIoInterrupt, kMpIntInt, n, ioapic_id, n));
    ++entries;
  }

  // Virtual wire mode (MP spec §3.6.2.2): the PIC's output reaches the BSP
  // through LINT0 as ExtINT until the kernel switches to the IOAPIC.
  w.append(interrupt(kMpLocalInterrupt, kMpIntExtInt, 0, 0, 0));
  w.append(interrupt(kMpLocalInterrupt, kMpIntNmi, 0, 0xff, 1));
  entries += 2;

  auto& bytes = w.bytes();
  MpConfigHeader h{};
  std::memcpy(h.signature, "PCMP", 4);
  h.length = static_cast<uint16_t>(bytes.size() - header_at);
  h.spec_rev = 4;
  set_chars(h.oem_id, "VMM");
  set_chars(h.product_id, "VMM");
  h.entry_count = entries;
  h.lapic_addr = static_cast<uint32_t>(kLapicAddr);
  std::memcpy(bytes.data() + header_at, &h, sizeof h);
  std::span<uint8_t> config(bytes.data() + header_at, h.length);
  config[offsetof(MpConfigHeader, checksum)] = static_cast<uint8_t>(-mp_checksum(config));

  std::span<uint8_t> pointer(bytes.data(), sizeof fp);
  pointer[offsetof(MpFloatingPointer, checksum)] = static_cast<uint8_t>(-mp_checksum(pointer));
  return std::move(bytes);
}

Result<uint64_t> write_mptable(GuestMemory& mem, uint32_t cpus, const MpCpuInfo& cpu) {
  auto table = VMM_TRY(build_mptable(cpus, cpu));
  if (table.size() > kMpTableEnd - kMpTableAddr) {
    return Error::make(Errc::kOutOfRange,
                       fmt::format("MP table: {} bytes do not fit the reserved area {:#x}-{:#x}", table.size(),
                                   kMpTableAddr, kMpTableEnd));
  }
  VMM_TRY_CTX(mem.write(kMpTableAddr, table), "MP table");
  return static_cast<uint64_t>(table.size());
}

}  // namespace vmm::hv::boot
