// Machine::save_snapshot and Machine::restore: the machine to and from a
// snapshot file (format in docs/snapshot-format.md).
//
// Save writes, in order: the machine section (what to rebuild), the VM
// section (irqchips, PIT, kvmclock), one section per vCPU, one per device,
// then guest memory. Restore rebuilds in the order QEMU and Firecracker found
// necessary: memory, devices (load, then every post_load), vCPUs (CPUID
// first ... events last), then the in-kernel irqchips and PIT; the kvmclock
// is set when the guest resumes.
#include <fmt/format.h>
#include <xxhash.h>

#include <cstring>

#include "hypervisor/base/log.h"
#include "hypervisor/machine/machine.h"
#include "snapshot/archive.h"
#include "snapshot/snapshot_reader.h"
#include "snapshot/snapshot_writer.h"

namespace vmm::hv {
namespace {

template <class State>
std::vector<uint8_t> encode(State& state, uint32_t version) {
  snap::Saver saver(version);
  state.visit(saver, version);
  return saver.take();
}

template <class State>
Result<State> decode(const snap::SectionView& section, uint32_t newest) {
  VMM_TRY(section.check_version(1, newest));
  State state{};
  snap::Loader loader(section.payload, section.version);
  state.visit(loader, section.version);
  VMM_TRY_CTX(loader.finish(), fmt::format("section {} ({})", section.instance, section.kind));
  return state;
}

// The CPU model recorded in the header, from the guest's own CPUID.
snap::CpuModel cpu_model(const VcpuState& vcpu) {
  snap::CpuModel model;
  for (const auto& e : vcpu.cpuid) {
    if (e.function == 0 && e.index == 0) {
      char vendor[13] = {};
      std::memcpy(vendor, &e.ebx, 4), std::memcpy(vendor + 4, &e.edx, 4), std::memcpy(vendor + 8, &e.ecx, 4);
      model.vendor = vendor;
    }
    if (e.function == 1 && e.index == 0) {
      uint32_t family = (e.eax >> 8) & 0xf, model_id = (e.eax >> 4) & 0xf;
      if (family == 0xf) family += (e.eax >> 20) & 0xff;
      if (family >= 6) model_id |= ((e.eax >> 16) & 0xf) << 4;
      model.family = family, model.model = model_id, model.stepping = e.eax & 0xf;
    }
  }
  snap::Saver saver(VcpuState::kVersion);
  auto entries = vcpu.cpuid;
  saver.vector("cpuid", entries, VcpuState::kMaxCpuidEntries);
  auto bytes = saver.take();
  model.cpuid_hash = XXH3_64bits(bytes.data(), bytes.size());
  return model;
}

}  // namespace

Result<SaveStats> Machine::save_snapshot(const std::string& path, const SaveOptions& options) {
  std::lock_guard lock(state_mutex_);
  if (!paused_ || !vm_state_ || vcpu_states_.size() != vcpus_.size()) {
    return Error::make(Errc::kNotPaused, "snapshot: the guest must be paused");
  }
  snap::HeaderInfo info;
  info.vmm_version = VMM_VERSION;
  info.cpu = cpu_model(vcpu_states_[0]);
  info.tsc_khz = config_.tsc_khz;
  auto writer = VMM_TRY(snap::SnapshotWriter::create(path, info));
  auto section = [&](std::string kind, std::string instance, uint32_t version, uint32_t minimum,
                     const std::vector<uint8_t>& payload) {
    return writer.add_section(snap::SectionDesc{std::move(kind), std::move(instance), version, minimum,
                                                snap::kSectionMandatory},
                              payload);
  };
  VMM_TRY(section("machine", "machine", MachineConfigState::kVersion, 1, encode(config_, MachineConfigState::kVersion)));
  VMM_TRY(section("vm", "vm", VmState::kVersion, 1, encode(*vm_state_, VmState::kVersion)));
  for (size_t i = 0; i < vcpu_states_.size(); ++i) {
    VMM_TRY(section("vcpu", fmt::format("cpu{}", i), VcpuState::kVersion, 1, encode(vcpu_states_[i], VcpuState::kVersion)));
  }
  for (auto* d : devices_) {
    auto payload = VMM_TRY_CTX(d->save(), d->instance_id());
    auto v = d->state_version();
    VMM_TRY(section(std::string(d->type_name()), d->instance_id(), v.current, v.minimum, payload));
  }
  SaveStats stats;
  stats.memory_bytes = memory_->total_size();
  if (options.progress) writer.set_progress(stats.memory_bytes, options.progress);
  auto encoding = options.compress == qmp::Compression::kLz4 ? snap::Encoding::kLz4 : snap::Encoding::kRaw;
  for (const auto& r : memory_->regions()) {
    // With a memfd behind guest RAM, never-touched pages are holes the writer
    // skips without reading (a read would allocate them). Memory mapped
    // privately from a snapshot file has no such record: a page the guest
    // wrote may lie over a hole of the file, so it is scanned in full.
    snap::MemoryBacking backing;
    if (memory_->memfd() >= 0) backing = snap::MemoryBacking{memory_->memfd(), r.fd_offset};
    VMM_TRY(writer.add_memory_region(r.gpa, std::span<const uint8_t>(r.host, r.size), encoding, backing));
  }
  VMM_TRY(writer.commit(options.fsync));
  stats.file_bytes = writer.file_size();
  return stats;
}

Result<std::unique_ptr<Machine>> Machine::restore(const RestoreConfig& config) {
  std::unique_ptr<Machine> m(new Machine());
  m->main_thread_ = pthread_self();
  VMM_TRY_CTX(m->load_snapshot(config), "restore " + config.snapshot_path);
  VMM_TRY(m->start_api(config.api_socket));
  return m;
}

Result<void> Machine::load_snapshot(const RestoreConfig& config) {
  auto reader = VMM_TRY(snap::SnapshotReader::open(config.snapshot_path));
  config_ = VMM_TRY(decode<MachineConfigState>(VMM_TRY(reader.take("machine", "machine")), MachineConfigState::kVersion));
  {
    // Checked before the VM exists: a hostile vCPU count or layout must not
    // reach KVM.
    auto kvm = VMM_TRY(Kvm::open(config.kvm_path));
    VMM_TRY(validate_machine_config(config_, static_cast<uint32_t>(kvm.max_vcpus())));
  }
  VMM_TRY(open_vm(config.kvm_path, config_.cpus));

  // Memory: each region of the layout comes from the file region with the
  // same address and size, mapped privately (lazy) or read (eager, lz4).
  auto layout = config_.layout();
  std::vector<size_t> source;
  bool lazy = !config.eager;
  for (const auto& r : layout) {
    size_t found = reader.regions().size();
    for (size_t i = 0; i < reader.regions().size(); ++i) {
      if (reader.regions()[i].gpa == r.gpa && reader.regions()[i].size == r.size) found = i;
    }
    if (found == reader.regions().size()) {
      return Error::make(Errc::kBadSnapshot, fmt::format("no memory region for {:#x}+{:#x}", r.gpa, r.size));
    }
    if (reader.regions()[found].encoding != snap::Encoding::kRaw) lazy = false;
    source.push_back(found);
  }
  if (reader.regions().size() != layout.size()) {
    return Error::make(Errc::kBadSnapshot, "memory regions do not match the machine's layout");
  }
  if (lazy) {
    std::vector<Mapping> maps;
    for (size_t i : source) maps.push_back(VMM_TRY(reader.map_region_private(i)));
    VMM_TRY(map_memory(VMM_TRY(GuestMemory::adopt(layout, std::move(maps)))));
  } else {
    GuestMemory mem = VMM_TRY(GuestMemory::create(layout));
    for (size_t k = 0; k < source.size(); ++k) {
      const auto& region = mem.regions()[k];
      VMM_TRY(reader.read_region(source[k], std::span<uint8_t>(region.host, region.size), true));
    }
    VMM_TRY(map_memory(std::move(mem)));
  }

  // Devices: paused from the start, loaded, then re-derived.
  VMM_TRY(create_devices(config.console));
  for (auto* d : devices_) {
    VMM_TRY(d->pause());
    auto section = VMM_TRY(reader.take(d->type_name(), d->instance_id()));
    auto v = d->state_version();
    VMM_TRY(section.check_version(v.minimum, v.current));
    VMM_TRY_CTX(d->load(section.payload, section.version), fmt::format("section {} ({})", d->instance_id(), d->type_name()));
  }
  for (auto* d : devices_) VMM_TRY_CTX(d->post_load(), d->instance_id());

  // vCPUs, then the in-kernel interrupt controllers and PIT.
  VMM_TRY(create_vcpu_fds(config_.cpus));
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    std::string name = fmt::format("cpu{}", i);
    auto state = VMM_TRY(decode<VcpuState>(VMM_TRY(reader.take("vcpu", name)), VcpuState::kVersion));
    VMM_TRY_CTX(restore_vcpu_state(*vcpus_[i], state), "vCPU " + std::to_string(i));
    vcpu_states_.push_back(std::move(state));
  }
  auto vm_state = VMM_TRY(decode<VmState>(VMM_TRY(reader.take("vm", "vm")), VmState::kVersion));
  VMM_TRY(restore_vm_irqchips(*vm_, vm_state));
  vm_state_ = vm_state;

  for (const auto& key : reader.unconsumed()) {
    if (key.mandatory) {
      return Error::make(Errc::kBadSnapshot, fmt::format("section {} ({}) is unknown to this vmm", key.instance, key.kind));
    }
    log::warn("restore: ignoring optional section {} ({})", key.instance, key.kind);
  }
  uint32_t host_khz = VMM_TRY(vcpus_[0]->get_tsc_khz());
  if (config_.tsc_khz != 0 && (host_khz > config_.tsc_khz + config_.tsc_khz / 4000 ||
                               host_khz + config_.tsc_khz / 4000 < config_.tsc_khz)) {
    // Without TSC scaling (KVM_CAP_TSC_CONTROL) the guest's TSC now ticks at
    // the host's rate; a guest that calibrated it sees its clocks drift.
    log::warn("restore: the guest's TSC ran at {} kHz, this host's at {} kHz", config_.tsc_khz, host_khz);
  }
  msr_indices_.clear();
  for (const auto& msr : vcpu_states_[0].msrs) msr_indices_.push_back(msr.index);
  restored_at_realtime_ns_ = reader.header().creation_time * 1'000'000'000;
  clock_policy_ = config.clock;
  paused_ = true;
  control_->start_paused();
  return {};
}

}  // namespace vmm::hv
