#include "devices/legacy/rtc_calendar.h"

#include <algorithm>

namespace vmm::dev::rtc {
namespace {

constexpr int64_t kSecPerDay = 86400;
constexpr uint8_t kAlarmDontCare = 0xc0;

// Days since 1970-01-01 for a civil date, after Howard Hinnant's
// "chrono-compatible low-level date algorithms" (valid for negative years).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Civil civil_from_time(int64_t t) {
  int64_t z = floor_div(t, kSecPerDay);
  int64_t tod = t - z * kSecPerDay;
  int weekday = static_cast<int>((z % 7 + 11) % 7) + 1;  // 1970-01-01 was a Thursday (5)
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day,
          static_cast<int>(tod / 3600), static_cast<int>(tod / 60 % 60), static_cast<int>(tod % 60), weekday};
}

int64_t time_from_civil(const Civil& c) {
  return days_from_civil(c.year, c.month, c.day) * kSecPerDay + c.hour * 3600 + c.minute * 60 + c.second;
}

uint8_t RegisterFormat::encode(int64_t value) const {
  return static_cast<uint8_t>(binary ? value : (value / 10) << 4 | value % 10);
}

int RegisterFormat::decode(uint8_t raw) const { return binary ? raw : (raw >> 4) * 10 + (raw & 0x0f); }

uint8_t RegisterFormat::encode_hour(int hour) const {
  if (hour24) return encode(hour);
  int h12 = hour % 12 == 0 ? 12 : hour % 12;
  return static_cast<uint8_t>(encode(h12) | (hour >= 12 ? 0x80 : 0));
}

int RegisterFormat::decode_hour(uint8_t raw) const {
  if (hour24) {
    int h = decode(raw);
    return h < 24 ? h : -1;
  }
  int h12 = decode(raw & 0x7f);
  if (h12 < 1 || h12 > 12) return -1;
  return h12 % 12 + ((raw & 0x80) ? 12 : 0);
}

std::optional<int64_t> next_alarm(uint8_t seconds, uint8_t minutes, uint8_t hours, RegisterFormat format,
                                  int64_t from_sec) {
  // -1: don't care; -2: a value no time matches.
  auto field = [&](uint8_t raw, int limit) {
    if ((raw & kAlarmDontCare) == kAlarmDontCare) return -1;
    int v = format.decode(raw);
    return v < limit ? v : -2;
  };
  int as = field(seconds, 60);
  int am = field(minutes, 60);
  bool any_hour = (hours & kAlarmDontCare) == kAlarmDontCare;
  int ah = any_hour ? -1 : format.decode_hour(hours);
  if (as == -2 || am == -2 || (!any_hour && ah < 0)) return std::nullopt;
  // Every valid alarm matches once a day, so two days are enough; visiting
  // candidates in order makes the first match the earliest.
  int64_t day = floor_div(from_sec, kSecPerDay);
  for (int64_t d = day; d <= day + 1; ++d) {
    for (int h = 0; h < 24; ++h) {
      if (ah >= 0 && h != ah) continue;
      for (int m = 0; m < 60; ++m) {
        if (am >= 0 && m != am) continue;
        int64_t start = d * kSecPerDay + h * 3600 + m * 60;
        if (start + 59 < from_sec) continue;
        int64_t s = as >= 0 ? start + as : std::max(start, from_sec);
        if (s >= from_sec) return s;
      }
    }
  }
  return std::nullopt;
}

}  // namespace vmm::dev::rtc
