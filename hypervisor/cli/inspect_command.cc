#include "hypervisor/cli/inspect_command.h"

#include <fmt/format.h>
#include <getopt.h>

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hypervisor/cli/usage_error.h"
#include "hypervisor/machine/exit_status.h"
#include "snapshot/snapshot_reader.h"

namespace vmm::cli {
namespace {

constexpr const char* kCommand = "vmm inspect";

constexpr const char* kHelp = R"(Usage: vmm inspect FILE [--json]

Describes a snapshot file (docs/snapshot-format.md) — its format version, the
vmm and CPU it was taken with, each device section and each memory region —
and verifies every checksum in it.

Options:
  --json       print one JSON object instead of text
  -h, --help   show this help

Exit status:
  0   the file is a valid snapshot and every checksum verifies
  1   it is not (one line on stderr says what is wrong first)
  2   bad command line
)";

// What verification found, per section and per region ("" = verified).
struct Report {
  std::vector<std::string> sections;
  std::vector<std::string> regions;
  std::string first_error;
  int failures = 0;
};

Report verify_all(const snap::SnapshotReader& r) {
  Report rep;
  auto note = [&](std::vector<std::string>& into, Result<void> res) {
    into.push_back(res ? "" : res.error().message());
    if (!res) {
      if (rep.failures++ == 0) rep.first_error = into.back();
    }
  };
  for (size_t i = 0; i < r.sections().size(); ++i) note(rep.sections, r.verify_section(i));
  for (size_t i = 0; i < r.regions().size(); ++i) note(rep.regions, r.verify_region(i));
  return rep;
}

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  if (!gmtime_r(&tt, &tm)) return "?";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string flags_text(uint32_t flags) {
  std::string s = (flags & snap::kSectionMandatory) ? "mandatory" : "optional";
  if (uint32_t other = flags & ~snap::kSectionMandatory) s += fmt::format("+{:#x}", other);
  return s;
}

void print_text(const snap::SnapshotReader& r, const Report& rep) {
  const snap::Header& h = r.header();
  const snap::CpuModel& cpu = h.info.cpu;
  fmt::print("snapshot      {}\n", r.path());
  fmt::print("format        {}.{}\n", h.major, h.minor);
  fmt::print("vmm version   {}\n", h.info.vmm_version);
  fmt::print("created       {} ({})\n", utc(h.creation_time), h.creation_time);
  fmt::print("architecture  {}\n", h.arch);
  fmt::print("page size     {}\n", h.page_size);
  fmt::print("cpu           {} family {} model {} stepping {}, cpuid hash {:#018x}\n", cpu.vendor, cpu.family,
             cpu.model, cpu.stepping, cpu.cpuid_hash);
  fmt::print("tsc           {} kHz\n", h.info.tsc_khz);
  fmt::print("file size     {} bytes\n", h.file_size);

  fmt::print("\nsections: {}\n", r.sections().size());
  fmt::print("  {:<16} {:<12} {:>7} {:>7} {:<10} {:>10} {:<18} {}\n", "kind", "instance", "version", "min",
             "flags", "bytes", "checksum", "verified");
  for (size_t i = 0; i < r.sections().size(); ++i) {
    const snap::SectionInfo& s = r.sections()[i];
    fmt::print("  {:<16} {:<12} {:>7} {:>7} {:<10} {:>10} {:#018x} {}\n", s.kind, s.instance, s.version,
               s.min_version, flags_text(s.flags), s.length, s.checksum, rep.sections[i].empty() ? "ok" : "BAD");
  }
  fmt::print("\nmemory regions: {}\n", r.regions().size());
  fmt::print("  {:<18} {:>12} {:<8} {:>12} {:<18} {}\n", "gpa", "size", "encoding", "in file", "checksum",
             "verified");
  for (size_t i = 0; i < r.regions().size(); ++i) {
    const snap::RegionInfo& g = r.regions()[i];
    // A raw region spans its whole size in the file; its zero pages are holes.
    fmt::print("  {:#018x} {:>12} {:<8} {:>12} {:#018x} {}\n", g.gpa, fmt::format("{:#x}", g.size),
               snap::encoding_name(g.encoding), fmt::format("{:#x}", g.length), g.checksum,
               rep.regions[i].empty() ? "ok" : "BAD");
  }
}

std::string hex64(uint64_t v) { return fmt::format("{:#018x}", v); }

void print_json(const snap::SnapshotReader& r, const Report& rep) {
  using json = nlohmann::ordered_json;
  const snap::Header& h = r.header();
  json sections = json::array();
  for (size_t i = 0; i < r.sections().size(); ++i) {
    const snap::SectionInfo& s = r.sections()[i];
    json j = {{"kind", s.kind},       {"instance", s.instance}, {"version", s.version},
              {"min_version", s.min_version}, {"flags", s.flags}, {"mandatory", s.mandatory()},
              {"offset", s.offset},   {"length", s.length},     {"checksum", hex64(s.checksum)},
              {"verified", rep.sections[i].empty()}};
    if (!rep.sections[i].empty()) j["error"] = rep.sections[i];
    sections.push_back(std::move(j));
  }
  json regions = json::array();
  for (size_t i = 0; i < r.regions().size(); ++i) {
    const snap::RegionInfo& g = r.regions()[i];
    json j = {{"gpa", g.gpa},       {"size", g.size},          {"encoding", snap::encoding_name(g.encoding)},
              {"offset", g.offset}, {"length", g.length},      {"checksum", hex64(g.checksum)},
              {"verified", rep.regions[i].empty()}};
    if (g.encoding == snap::Encoding::kLz4) {
      j["chunk_size"] = g.chunk_size;
      j["chunk_count"] = g.chunk_count;
    }
    if (!rep.regions[i].empty()) j["error"] = rep.regions[i];
    regions.push_back(std::move(j));
  }
  json out = {
      {"file", r.path()},
      {"format", fmt::format("{}.{}", h.major, h.minor)},
      {"vmm_version", h.info.vmm_version},
      {"creation_time", h.creation_time},
      {"creation_time_utc", utc(h.creation_time)},
      {"architecture", h.arch},
      {"page_size", h.page_size},
      {"cpu",
       {{"vendor", h.info.cpu.vendor},
        {"family", h.info.cpu.family},
        {"model", h.info.cpu.model},
        {"stepping", h.info.cpu.stepping},
        {"cpuid_hash", hex64(h.info.cpu.cpuid_hash)}}},
      {"tsc_khz", h.info.tsc_khz},
      {"file_size", h.file_size},
      {"sections", std::move(sections)},
      {"regions", std::move(regions)},
      {"valid", rep.failures == 0},
  };
  // Every string in it came through the reader's printable-ASCII checks.
  std::puts(out.dump(2).c_str());
}

}  // namespace

int inspect_command(int argc, char** argv) {
  static const option kOptions[] = {
      {"json", no_argument, nullptr, 'j'},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  bool as_json = false;
  opterr = 0;
  optind = 1;
  int opt;
  while ((opt = getopt_long(argc, argv, ":h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 'j': as_json = true; break;
      case 'h': std::fputs(kHelp, stdout); return 0;
      default: return usage_error(kCommand, std::string("unknown option ") + argv[optind - 1]);
    }
  }
  if (optind >= argc) return usage_error(kCommand, "missing snapshot FILE");
  if (argc - optind > 1) return usage_error(kCommand, std::string("unexpected argument '") + argv[optind + 1] + "'");

  auto reader = snap::SnapshotReader::open(argv[optind]);
  if (!reader) {
    std::fprintf(stderr, "vmm inspect: %s\n", reader.error().message().c_str());
    return hv::kExitError;
  }
  Report rep = verify_all(*reader);
  if (as_json) {
    print_json(*reader, rep);
  } else {
    print_text(*reader, rep);
  }
  std::fflush(stdout);
  if (rep.failures > 0) {
    std::string more = rep.failures > 1 ? fmt::format(" (and {} more)", rep.failures - 1) : "";
    std::fprintf(stderr, "vmm inspect: %s%s\n", rep.first_error.c_str(), more.c_str());
    return hv::kExitError;
  }
  return 0;
}

}  // namespace vmm::cli
