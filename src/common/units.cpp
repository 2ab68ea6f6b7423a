#include "edgesim/common/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "edgesim/common/error.hpp"

namespace edgesim {

const char* const kSizeUnits = "units: B, KB or kB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)";

std::uint64_t parse_bytes(const std::string& text) {
  std::size_t pos = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument("expected a size such as 4GiB or 512MB, got '" + text + "'");
  }
  if (!(value >= 0.0) || !std::isfinite(value))
    throw std::invalid_argument("size must be finite and non-negative, got '" + text + "'");
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  const std::string unit = text.substr(pos);
  // A bare number is refused rather than read as bytes: `memory = 2` meant 2 GB, and as
  // 2 bytes it made every task of the device fail `oom` without a word.
  if (unit.empty())
    throw std::invalid_argument("'" + text + "' has no unit (" + kSizeUnits + ", e.g. \"" + text + "GiB\")");
  struct Unit { const char* name; double factor; };
  static const Unit units[] = {
      {"B", 1}, {"KiB", 1024.0}, {"MiB", 1024.0 * 1024}, {"GiB", 1024.0 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
      {"TB", 1e12}};
  for (const auto& u : units) {
    if (unit == u.name) return static_cast<std::uint64_t>(std::llround(value * u.factor));
  }
  throw std::invalid_argument("unknown size unit '" + unit + "' in '" + text + "' (" + kSizeUnits + ")");
}

std::string format_bytes(std::uint64_t bytes) {
  static const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1024.0 && i < 4) { v /= 1024.0; ++i; }
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.1f %s", v, names[i]);
  return buf;
}

double positive_number(const std::string& where, const std::string& v, bool allow_zero) {
  double x = 0;
  try {
    std::size_t pos = 0;
    x = std::stod(v, &pos);
    if (pos != v.size() || !std::isfinite(x)) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw InputError(where + ": expected a number, got '" + v + "'");
  }
  if (x < 0 || (!allow_zero && x == 0))
    throw InputError(where + ": must be " + (allow_zero ? ">= 0" : "> 0") + ", got '" + v + "'");
  return x;
}

}  // namespace edgesim
