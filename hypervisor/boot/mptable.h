// Intel MultiProcessor Specification 1.4 tables: how a kernel without ACPI
// finds the vCPUs, the IOAPIC and the ISA interrupt routing.
//
// Written at kMpTableAddr (0x9fc00, the last KiB of base memory, where Linux
// looks first) inside the e820-reserved legacy area: the 16-byte floating
// pointer (§4.1), immediately followed by the configuration table (§4.2) with
//   one processor entry per vCPU (§4.3.1): local APIC id = vCPU index,
//     enabled, BSP flag on vCPU 0;
//   one bus entry, ISA (§4.3.2);
//   one IOAPIC entry (§4.3.3): id = number of vCPUs, version 0x11,
//     address 0xfec00000 (KVM's in-kernel IOAPIC);
//   I/O interrupt entries (§4.3.4) for ISA IRQs 0-15, IRQ n -> IOAPIC pin n;
//   local interrupt entries (§4.3.5): ExtINT -> BSP LINT0, NMI -> all LINT1.
//
// IRQ n -> pin n (no IRQ0 -> pin 2 override as on PC chipsets) because that
// is what KVM's default GSI routing does (kvm_setup_default_irq_routing():
// GSI n drives PIC IRQ n and IOAPIC pin n), and what Firecracker's table says
// (FC:src/vmm/src/arch/x86_64/mptable.rs, "Per kvm_setup_default_irq_routing()
// in kernel"). QEMU instead reroutes GSI 0 to pin 2 with KVM_SET_GSI_ROUTING
// and advertises that override; if the machine ever does the same, this
// table must change with it.
//
// Not described: PCI buses and PCI INTx routing (to come with the PCI host
// bridge), the extended table (§5), an OEM table.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hypervisor/base/result.h"
#include "hypervisor/memory/guest_memory.h"

namespace vmm::hv::boot {

// 255 xAPIC ids, one of them taken by the IOAPIC.
constexpr uint32_t kMaxCpus = 254;

// What the processor entries report as CPU signature and feature flags
// (MP spec §4.3.1: CPUID leaf 1 EAX and EDX). The defaults (family 6, FPU and
// APIC) are what Firecracker writes; pass the guest's CPUID values if known.
struct MpCpuInfo {
  uint32_t signature = 0x600;
  uint32_t features = (1u << 0) | (1u << 9);  // FPU, APIC
};

// Wire layouts (MP spec 1.4 §4). All little-endian, no padding.
struct MpFloatingPointer {
  char signature[4];     // "_MP_"
  uint32_t config_addr;  // physical address of the configuration table
  uint8_t length;        // in 16-byte paragraphs: 1
  uint8_t spec_rev;      // 4 = version 1.4
  uint8_t checksum;      // all 16 bytes sum to 0
  uint8_t features[5];   // [0] = 0: a configuration table is present;
                         // [1] bit 7 = 0: virtual wire mode, no IMCR
};
static_assert(sizeof(MpFloatingPointer) == 16);

struct MpConfigHeader {
  char signature[4];  // "PCMP"
  uint16_t length;    // header plus base entries, in bytes
  uint8_t spec_rev;   // 4
  uint8_t checksum;   // the whole base table sums to 0
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table_addr;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_addr;
  uint16_t ext_length;
  uint8_t ext_checksum;
  uint8_t reserved;
};
static_assert(sizeof(MpConfigHeader) == 44);

enum MpEntryType : uint8_t {
  kMpProcessor = 0,
  kMpBus = 1,
  kMpIoapic = 2,
  kMpIoInterrupt = 3,
  kMpLocalInterrupt = 4,
};

// Interrupt types of I/O and local interrupt entries (MP spec Table 4-11).
enum MpInterruptType : uint8_t { kMpIntInt = 0, kMpIntNmi = 1, kMpIntSmi = 2, kMpIntExtInt = 3 };

struct MpProcessorEntry {
  uint8_t type;  // kMpProcessor
  uint8_t lapic_id;
  uint8_t lapic_version;
  uint8_t cpu_flags;  // bit 0 enabled, bit 1 bootstrap processor
  uint32_t cpu_signature;
  uint32_t feature_flags;
  uint32_t reserved[2];
};
static_assert(sizeof(MpProcessorEntry) == 20);

struct MpBusEntry {
  uint8_t type;  // kMpBus
  uint8_t bus_id;
  char bus_type[6];  // "ISA   "
};
static_assert(sizeof(MpBusEntry) == 8);

struct MpIoapicEntry {
  uint8_t type;  // kMpIoapic
  uint8_t ioapic_id;
  uint8_t ioapic_version;
  uint8_t flags;  // bit 0 usable
  uint32_t addr;
};
static_assert(sizeof(MpIoapicEntry) == 8);

// Shared by I/O interrupt (dst_id = IOAPIC id, dst_pin = INTIN) and local
// interrupt entries (dst_id = local APIC id or 0xff for all, dst_pin = LINT).
struct MpInterruptEntry {
  uint8_t type;  // kMpIoInterrupt or kMpLocalInterrupt
  uint8_t int_type;
  uint16_t flags;  // polarity bits 0-1, trigger bits 2-3; 0 = conforms to the bus
  uint8_t src_bus;
  uint8_t src_irq;
  uint8_t dst_id;
  uint8_t dst_pin;
};
static_assert(sizeof(MpInterruptEntry) == 8);

constexpr uint8_t kMpLapicVersion = 0x14;   // KVM's local APIC (lapic.c APIC_VERSION)
constexpr uint8_t kMpIoapicVersion = 0x11;  // KVM's IOAPIC (ioapic.h IOAPIC_VERSION_ID)
constexpr uint8_t kMpCpuEnabled = 1 << 0;
constexpr uint8_t kMpCpuBsp = 1 << 1;
constexpr uint8_t kMpIsaBusId = 0;
constexpr uint32_t kMpIsaIrqs = 16;

// The complete table (floating pointer + configuration table) as it is laid
// out at kMpTableAddr, for `cpus` vCPUs (1..kMaxCpus).
Result<std::vector<uint8_t>> build_mptable(uint32_t cpus, const MpCpuInfo& cpu = {});

// Builds the table and writes it at kMpTableAddr through `mem`. Fails if
// `cpus` is out of range, the table would run past the reserved legacy area
// (kMpTableEnd), or that area is not guest RAM. Returns the table's size.
Result<uint64_t> write_mptable(GuestMemory& mem, uint32_t cpus, const MpCpuInfo& cpu = {});

// The 8-bit sum of `bytes`; a valid MP structure sums to 0.
uint8_t mp_checksum(std::span<const uint8_t> bytes);

}  // namespace vmm::hv::boot
