// Archives that drive a State's single `visit(ar, version)` function for save,
// load and schema dump alike, so the three cannot drift apart (design §4).
//
// Encoding (canonical, so save(load(S)) == S byte for byte): fields in visit
// order, little-endian, fixed width; bool as one byte 0/1; std::array as its
// elements; vectors and strings as a u32 count then the elements. Optional
// state goes in named subsections, which a visit must declare after all of its
// plain fields: each present one is {u8 name length, name, u32 payload length,
// payload}. On load a missing subsection leaves the default, an unknown one is
// an error. (A payload cut exactly where its subsections begin therefore
// loads as "absent": the snapshot file's per-section length and checksum are
// what catch truncation, not the archive.)
//
// The Loader treats its input as hostile: every read is bounded, the first
// failure is kept with the path of the field it hit ("fifo.count"), and later
// reads are no-ops, so visit code needs no error checks of its own.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "hypervisor/base/result.h"

namespace vmm::snap {

template <class T>
concept Scalar = std::is_integral_v<T> || std::is_enum_v<T>;

template <class T, class Ar>
concept Visitable = requires(T& t, Ar& ar, uint32_t version) { t.visit(ar, version); };

template <class T>
struct IsStdArray : std::false_type {};
template <class T, size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {};

// ---------------------------------------------------------------- Saver
class Saver {
 public:
  static constexpr bool kLoading = false;
  explicit Saver(uint32_t version) : version_(version) {}
  uint32_t version() const { return version_; }

  template <class T>
  void field(std::string_view, T& value) { put(value); }

  // Writing more than `max` is a bug in the device, not guest input: the
  // Loader would reject the state, so refuse to produce it.
  void bytes(std::string_view, std::vector<uint8_t>& v, size_t max) {
    VMM_CHECK(v.size() <= max);
    put_u32(static_cast<uint32_t>(v.size()));
    out_.insert(out_.end(), v.begin(), v.end());
  }
  void string(std::string_view, std::string& s, size_t max) {
    VMM_CHECK(s.size() <= max);
    put_u32(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  template <class T>
  void vector(std::string_view, std::vector<T>& v, size_t max) {
    VMM_CHECK(v.size() <= max);
    put_u32(static_cast<uint32_t>(v.size()));
    for (auto& e : v) put(e);
  }
  template <class F>
  void subsection(std::string_view name, bool needed, F&& fn) {
    if (!needed) return;
    VMM_CHECK(!name.empty() && name.size() <= 255);
    out_.push_back(static_cast<uint8_t>(name.size()));
    out_.insert(out_.end(), name.begin(), name.end());
    size_t len_at = out_.size();
    put_u32(0);
    fn();
    uint32_t len = static_cast<uint32_t>(out_.size() - len_at - 4);
    for (int i = 0; i < 4; ++i) out_[len_at + i] = static_cast<uint8_t>(len >> (8 * i));
  }

  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void put_u32(uint32_t v) { put_le(v, 4); }
  void put_le(uint64_t v, size_t width) {
    for (size_t i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  template <class T>
  void put(T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      out_.push_back(value ? 1 : 0);
    } else if constexpr (Scalar<T>) {
      put_le(static_cast<uint64_t>(value), sizeof(T));
    } else if constexpr (IsStdArray<T>::value) {
      for (auto& e : value) put(e);
    } else {
      static_assert(Visitable<T, Saver>, "field type has no visit(ar, version)");
      value.visit(*this, version_);
    }
  }

  uint32_t version_;
  std::vector<uint8_t> out_;
};

// ---------------------------------------------------------------- Loader
class Loader {
 public:
  static constexpr bool kLoading = true;
  Loader(std::span<const uint8_t> in, uint32_t version) : in_(in), end_(in.size()), version_(version) {}
  uint32_t version() const { return version_; }

  template <class T>
  void field(std::string_view name, T& value) {
    Scope scope(*this, name);
    get(value);
  }
  void bytes(std::string_view name, std::vector<uint8_t>& v, size_t max) {
    Scope scope(*this, name);
    uint32_t n = get_count(max);
    if (failed_) return;
    v.assign(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
  }
  void string(std::string_view name, std::string& s, size_t max) {
    Scope scope(*this, name);
    uint32_t n = get_count(max);
    if (failed_) return;
    s.assign(reinterpret_cast<const char*>(in_.data()) + pos_, n);
    pos_ += n;
  }
  template <class T>
  void vector(std::string_view name, std::vector<T>& v, size_t max) {
    Scope scope(*this, name);
    // A count past the remaining bytes is rejected before anything is
    // allocated (elements of at least one byte cannot fit); `max` bounds
    // the rest.
    uint32_t n = get_count(max);
    if (failed_) return;
    v.assign(n, T{});
    for (auto& e : v) get(e);
  }
  template <class F>
  void subsection(std::string_view name, bool /*needed*/, F&& fn) {
    if (failed_ || pos_ >= end_) return;
    size_t name_len = in_[pos_];
    if (pos_ + 1 + name_len + 4 > end_) return fail_at(name, "truncated subsection header");
    std::string_view found(reinterpret_cast<const char*>(in_.data()) + pos_ + 1, name_len);
    if (found != name) return;  // absent: the state keeps its default
    size_t len_at = pos_ + 1 + name_len;
    uint32_t len = 0;
    for (int i = 0; i < 4; ++i) len |= uint32_t{in_[len_at + i]} << (8 * i);
    size_t body = len_at + 4;
    if (len > end_ - body) return fail_at(name, "subsection length past the end");
    Scope scope(*this, name);
    size_t saved_end = end_;
    pos_ = body;
    end_ = body + len;
    fn();
    if (!failed_ && pos_ != end_) fail("subsection has trailing bytes");
    end_ = saved_end;
  }

  // Call after visit: reports the first failure, an unknown subsection or
  // trailing bytes.
  Result<void> finish() {
    if (!failed_ && pos_ != end_) {
      size_t name_len = in_[pos_];
      if (pos_ + 1 + name_len <= end_ && name_len > 0) {
        std::string name(reinterpret_cast<const char*>(in_.data()) + pos_ + 1, name_len);
        fail("unknown subsection '" + printable(name) + "'");
      } else {
        fail(std::to_string(end_ - pos_) + " trailing bytes");
      }
    }
    if (failed_) return error_;
    return {};
  }
  bool failed() const { return failed_; }

  // Lets a visit reject a value it just read ("index past the queue").
  void reject(std::string_view name, std::string_view why) { fail_at(name, why); }

 private:
  struct Scope {
    Scope(Loader& l, std::string_view name) : l(l), saved(l.path_.size()) {
      if (!l.path_.empty()) l.path_ += '.';
      l.path_ += name;
    }
    ~Scope() { l.path_.resize(saved); }
    Loader& l;
    size_t saved;
  };

  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
  }
  void fail(std::string why) {
    if (failed_) return;
    failed_ = true;
    error_ = Error::make(Errc::kBadSnapshot, path_.empty() ? why : "field " + path_ + ": " + why);
  }
  void fail_at(std::string_view name, std::string_view why) {
    Scope scope(*this, name);
    fail(std::string(why));
  }
  bool take(size_t n, uint64_t& out) {
    if (failed_) return false;
    if (n > end_ - pos_) {
      fail("truncated (" + std::to_string(n) + " bytes needed, " + std::to_string(end_ - pos_) + " left)");
      return false;
    }
    out = 0;
    for (size_t i = 0; i < n; ++i) out |= uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += n;
    return true;
  }
  uint32_t get_count(size_t max) {
    uint64_t n = 0;
    if (!take(4, n)) return 0;
    if (n > max) {
      fail("count " + std::to_string(n) + " exceeds limit " + std::to_string(max));
      return 0;
    }
    if (n > end_ - pos_) {
      fail("count " + std::to_string(n) + " past the end of the section");
      return 0;
    }
    return static_cast<uint32_t>(n);
  }
  template <class T>
  void get(T& value) {
    if constexpr (std::is_same_v<T, bool>) {
      uint64_t raw = 0;
      if (!take(1, raw)) return;
      if (raw > 1) return fail("bool is " + std::to_string(raw));
      value = raw != 0;
    } else if constexpr (Scalar<T>) {
      uint64_t raw = 0;
      if (!take(sizeof(T), raw)) return;
      value = static_cast<T>(raw);
    } else if constexpr (IsStdArray<T>::value) {
      for (auto& e : value) get(e);
    } else {
      static_assert(Visitable<T, Loader>, "field type has no visit(ar, version)");
      value.visit(*this, version_);
    }
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  size_t end_;
  uint32_t version_;
  bool failed_ = false;
  Error error_ = Error::make(Errc::kBadSnapshot, "");
  std::string path_;
};

// ---------------------------------------------------------------- SchemaDumper
// Produces one line per field ("uart.fifo: u8[16]"), the golden that tells a
// reviewer the encoding changed without a version bump.
class SchemaDumper {
 public:
  static constexpr bool kLoading = false;
  explicit SchemaDumper(uint32_t version) : version_(version) {}
  uint32_t version() const { return version_; }

  template <class T>
  void field(std::string_view name, T& value) {
    describe(name, value, "");
  }
  void bytes(std::string_view name, std::vector<uint8_t>&, size_t max) {
    line(name, "bytes(max " + std::to_string(max) + ")");
  }
  void string(std::string_view name, std::string&, size_t max) {
    line(name, "string(max " + std::to_string(max) + ")");
  }
  template <class T>
  void vector(std::string_view name, std::vector<T>&, size_t max) {
    T probe{};
    describe(name, probe, "vec(max " + std::to_string(max) + ") of ");
  }
  template <class F>
  void subsection(std::string_view name, bool, F&& fn) {
    line(name, "subsection");
    push(name);
    fn();
    pop();
  }
  const std::string& text() const { return out_; }

 private:
  template <class T>
  static std::string scalar_name() {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_enum_v<T>) return "enum " + scalar_name<std::underlying_type_t<T>>();
    else return (std::is_signed_v<T> ? "i" : "u") + std::to_string(sizeof(T) * 8);
  }
  template <class T>
  void describe(std::string_view name, T& value, std::string prefix) {
    if constexpr (Scalar<T>) {
      line(name, prefix + scalar_name<T>());
    } else if constexpr (IsStdArray<T>::value) {
      using E = typename T::value_type;
      if constexpr (Scalar<E>) {
        line(name, prefix + scalar_name<E>() + "[" + std::to_string(value.size()) + "]");
      } else {
        line(name, prefix + "struct[" + std::to_string(value.size()) + "]");
        push(name);
        typename T::value_type probe{};
        probe.visit(*this, version_);
        pop();
      }
    } else {
      line(name, prefix + "struct");
      push(name);
      value.visit(*this, version_);
      pop();
    }
  }
  void line(std::string_view name, const std::string& type) {
    out_ += path_;
    if (!path_.empty()) out_ += '.';
    out_ += name;
    out_ += ": " + type + "\n";
  }
  void push(std::string_view name) {
    saved_.push_back(path_.size());
    if (!path_.empty()) path_ += '.';
    path_ += name;
  }
  void pop() {
    path_.resize(saved_.back());
    saved_.pop_back();
  }

  uint32_t version_;
  std::string out_;
  std::string path_;
  std::vector<size_t> saved_;
};

}  // namespace vmm::snap
