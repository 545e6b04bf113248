// Test types for archive_test.cc: a struct with every field kind the
// archives support, and small ones that probe a single behaviour.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/archive.h"

namespace vmm::snap::testing_types {

using Bytes = std::vector<uint8_t>;

enum class Color : uint8_t { kRed, kGreen, kBlue };
enum class Wide : int32_t { kNegative = -5, kPositive = 7 };

struct Inner {
  uint16_t a = 0;
  bool b = false;
  template <class Ar>
  void visit(Ar& ar, uint32_t /*version*/) {
    ar.field("a", a);
    ar.field("b", b);
  }
  bool operator==(const Inner&) const = default;
};

struct Everything {
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int8_t i8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  bool flag = false;
  Color color = Color::kRed;
  Wide wide = Wide::kPositive;
  std::array<uint8_t, 3> arr{};
  std::array<Inner, 2> inners{};
  Inner nested;
  Bytes bytes;
  std::string name;
  std::vector<uint32_t> words;
  std::vector<Inner> items;
  bool has_extra = false;  // whether the optional subsection is present
  uint32_t extra = 0;

  template <class Ar>
  void visit(Ar& ar, uint32_t version) {
    ar.field("u8", u8);
    ar.field("u16", u16);
    ar.field("u32", u32);
    ar.field("u64", u64);
    ar.field("i8", i8);
    ar.field("i16", i16);
    ar.field("i32", i32);
    ar.field("i64", i64);
    ar.field("flag", flag);
    ar.field("color", color);
    ar.field("wide", wide);
    ar.field("arr", arr);
    ar.field("inners", inners);
    ar.field("nested", nested);
    ar.bytes("bytes", bytes, 8);
    ar.string("name", name, 16);
    ar.vector("words", words, 4);
    ar.vector("items", items, 3);
    ar.subsection("extra", has_extra, [&] {
      if constexpr (Ar::kLoading) has_extra = true;
      ar.field("extra", extra);
    });
    (void)version;
  }
  bool operator==(const Everything&) const = default;
};

inline Everything sample() {
  Everything e;
  e.u8 = 0xab;
  e.u16 = 0xbeef;
  e.u32 = 0xdeadbeef;
  e.u64 = 0x0123456789abcdef;
  e.i8 = -2;
  e.i16 = -300;
  e.i32 = -70000;
  e.i64 = -5'000'000'000;
  e.flag = true;
  e.color = Color::kBlue;
  e.wide = Wide::kNegative;
  e.arr = {1, 2, 3};
  e.inners = {Inner{7, true}, Inner{8, false}};
  e.nested = Inner{0x1234, true};
  e.bytes = {9, 8, 7};
  e.name = "uart0";
  e.words = {1, 0xffffffff};
  e.items = {Inner{1, false}, Inner{2, true}, Inner{3, false}};
  e.has_extra = true;
  e.extra = 0xcafe;
  return e;
}

struct Counted {
  static inline int constructed = 0;
  uint8_t v = 0;
  Counted() { ++constructed; }
  Counted(const Counted& o) : v(o.v) { ++constructed; }
  Counted& operator=(const Counted&) = default;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("v", v);
  }
};

struct Strs {
  std::string s = "ab";
  std::vector<uint16_t> v = {0x0102};
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.string("s", s, 4);
    ar.vector("v", v, 4);
  }
};

struct Holder {
  std::vector<Counted> items;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.vector("items", items, 3);
  }
};

struct Blob {
  Bytes data;
  std::string text;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.bytes("data", data, SIZE_MAX);
    ar.string("text", text, SIZE_MAX);
  }
};

struct Checked {
  uint8_t index = 0;
  template <class Ar>
  void visit(Ar& ar, uint32_t) {
    ar.field("index", index);
    if constexpr (Ar::kLoading) {
      if (index >= 4) ar.reject("index", "past the queue");
    }
  }
};

struct Versioned {
  uint8_t a = 0;
  uint16_t b = 0xeeee;  // added in version 2
  template <class Ar>
  void visit(Ar& ar, uint32_t version) {
    ar.field("a", a);
    if (version >= 2) ar.field("b", b);
  }
};

template <class T>
Bytes save(T value, uint32_t version = 1) {
  Saver saver(version);
  value.visit(saver, version);
  return saver.take();
}

template <class T>
Result<void> load(const Bytes& bytes, T& out, uint32_t version = 1) {
  Loader loader(bytes, version);
  out.visit(loader, version);
  return loader.finish();
}

}  // namespace vmm::snap::testing_types
