// Calendar arithmetic for the MC146818 model (cmos_rtc.h): RTC seconds since
// 1970-01-01 <-> civil date and time (proleptic Gregorian, no time zone: the
// RTC keeps whatever the guest set), the register encodings reg B selects
// (BCD or binary, 12- or 24-hour), and the search for the next alarm match.
#pragma once

#include <cstdint>
#include <optional>

namespace vmm::dev::rtc {

int64_t floor_div(int64_t a, int64_t b);

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
  int weekday;  // 1 = Sunday, as register 0x06 counts
};

Civil civil_from_time(int64_t t);
int64_t time_from_civil(const Civil& c);  // ignores weekday

// The data format of reg B: DM (binary) and 24/12.
struct RegisterFormat {
  bool binary;
  bool hour24;

  uint8_t encode(int64_t value) const;
  int decode(uint8_t raw) const;
  // 12-hour form: 1-12 with PM in bit 7.
  uint8_t encode_hour(int hour) const;
  // Returns 0-23, or -1 for a value no hour can have.
  int decode_hour(uint8_t raw) const;
};

// The first second at or after `from_sec` whose time of day matches the
// alarm registers (a value with both top bits set matches anything), or
// nothing if an alarm field holds a value no time can match.
std::optional<int64_t> next_alarm(uint8_t seconds, uint8_t minutes, uint8_t hours, RegisterFormat format,
                                  int64_t from_sec);

}  // namespace vmm::dev::rtc
