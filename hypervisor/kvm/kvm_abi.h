// The KVM structs with flexible arrays, laid out as the kernel sees them.
//
// Linux 6.1's uapi headers declare those arrays with __DECLARE_FLEX_ARRAY,
// which wraps them in a struct holding an empty struct. In C that is zero
// bytes; in C++ it is one byte, so sizeof(kvm_cpuid2), the offset of its
// entries and the ioctl numbers derived from sizeof all differ from the
// kernel's (KVM_GET_SUPPORTED_CPUID then fails with EINVAL). So C++ code uses
// these headers and ioctl numbers, and places the array right after the header.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace vmm::hv::abi {

struct Cpuid2Header {
  uint32_t nent;
  uint32_t padding;
};  // followed by kvm_cpuid_entry2[nent]
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};  // followed by kvm_msr_entry[nmsrs]
struct MsrListHeader {
  uint32_t nmsrs;
};  // followed by uint32_t[nmsrs]

constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, Cpuid2Header);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, Cpuid2Header);
constexpr unsigned long kGetCpuid2 = _IOWR(KVMIO, 0x91, Cpuid2Header);

// kvm_xsave's 4 KiB legacy region (KVM_GET_XSAVE / KVM_SET_XSAVE).
struct XsaveRegion {
  uint32_t region[1024];
};
constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, XsaveRegion);
constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, XsaveRegion);
static_assert(kGetXsave == 0x9000aea4);

// The values the kernel defines (checked against its C headers).
static_assert(kGetSupportedCpuid == 0xc008ae05);
static_assert(kSetCpuid2 == 0x4008ae90);
static_assert(kGetMsrIndexList == 0xc004ae02);
static_assert(kSetMsrs == 0x4008ae89);

// A header followed by `count` elements, 8-byte aligned, zero-filled.
template <class Header, class Element>
class VarBuffer {
 public:
  explicit VarBuffer(size_t count)
      : words_(new uint64_t[(sizeof(Header) + count * sizeof(Element) + 7) / 8]()), count_(count) {}
  Header& header() { return *reinterpret_cast<Header*>(words_.get()); }
  Element* elements() { return reinterpret_cast<Element*>(reinterpret_cast<uint8_t*>(words_.get()) + sizeof(Header)); }
  size_t capacity() const { return count_; }
  void* data() { return words_.get(); }

 private:
  std::unique_ptr<uint64_t[]> words_;
  size_t count_;
};

}  // namespace vmm::hv::abi
