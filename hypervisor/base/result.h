// Result<T>: errors as values (design §4). A small subset of std::expected
// (absent from g++ 12) plus context chains, so a failure deep in a snapshot
// loader reads "restore: section uart0: field lsr: truncated".
#pragma once

#include <cerrno>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vmm {

enum class Errc {
  kSys,                 // a system call failed; sys_errno() says why
  kInvalidArgument,     // the caller (user, CLI, guest) asked for something invalid
  kOutOfRange,          // an address, length or index outside its limits
  kOverlap,             // a range that collides with one already registered
  kBadImage,            // a kernel or initrd that cannot be booted
  kBadSnapshot,         // a snapshot or migration stream that fails validation
  kVersionUnsupported,  // a state version outside what this build can read
  kNotPaused,           // an operation that needs the VM paused
  kUnsupported,         // the host lacks a capability we need
};

class [[nodiscard]] Error {
 public:
  static Error make(Errc code, std::string message) { return Error(code, 0, std::move(message)); }
  // Captures errno-style failures of `operation` ("open /dev/kvm").
  static Error sys(int err, std::string_view operation);

  // Prefixes the message with where it happened: "what: message".
  Error context(std::string_view what) && {
    message_ = std::string(what) + ": " + message_;
    return std::move(*this);
  }

  Errc code() const { return code_; }
  int sys_errno() const { return errno_; }
  const std::string& message() const { return message_; }

 private:
  Error(Errc code, int err, std::string message) : code_(code), errno_(err), message_(std::move(message)) {}
  Errc code_;
  int errno_;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

  Result context(std::string_view what) && {
    if (ok()) return std::move(*this);
    return std::get<1>(std::move(v_)).context(what);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const {}

  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

  Result context(std::string_view what) && {
    if (ok()) return {};
    return std::move(error_).context(what);
  }

 private:
  Error error_ = Error::make(Errc::kInvalidArgument, "");
  bool failed_ = false;
};

inline Result<void> ok() { return {}; }

}  // namespace vmm

// VMM_TRY(expr): evaluates a Result; on error returns it from the enclosing
// function, else yields the value. Uses a GNU statement expression (g++ and
// clang both support it) so call sites stay one line.
#define VMM_TRY(expr)                                        \
  ({                                                         \
    auto vmm_try_result_ = (expr);                           \
    if (!vmm_try_result_.ok()) return std::move(vmm_try_result_).error(); \
    std::move(vmm_try_result_).value();                      \
  })

// VMM_TRY_CTX(expr, what): as VMM_TRY, adding context to the error.
#define VMM_TRY_CTX(expr, what)                              \
  ({                                                         \
    auto vmm_try_result_ = (expr);                           \
    if (!vmm_try_result_.ok()) return std::move(vmm_try_result_).error().context(what); \
    std::move(vmm_try_result_).value();                      \
  })

// VMM_CHECK: a broken internal invariant (never guest input) aborts loudly.
#define VMM_CHECK(cond)                                                   \
  do {                                                                    \
    if (!(cond)) ::vmm::check_failed(#cond, __FILE__, __LINE__);          \
  } while (0)

namespace vmm {
[[noreturn]] void check_failed(const char* cond, const char* file, int line);
}  // namespace vmm
