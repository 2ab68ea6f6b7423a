#include "edgesim/common/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace edgesim {

std::uint64_t parse_bytes(const std::string& text) {
  std::size_t pos = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument("expected a size such as 4GiB or 512MB, got '" + text + "'");
  }
  while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  const std::string unit = text.substr(pos);
  struct Unit { const char* name; double factor; };
  static const Unit units[] = {
      {"", 1}, {"B", 1}, {"KiB", 1024.0}, {"MiB", 1024.0 * 1024}, {"GiB", 1024.0 * 1024 * 1024},
      {"TiB", 1024.0 * 1024 * 1024 * 1024}, {"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
      {"TB", 1e12}};
  for (const auto& u : units) {
    if (unit == u.name) {
      if (!(value >= 0.0) || !std::isfinite(value))
        throw std::invalid_argument("size must be non-negative, got '" + text + "'");
      return static_cast<std::uint64_t>(std::llround(value * u.factor));
    }
  }
  throw std::invalid_argument("unknown size unit '" + unit + "' in '" + text +
                              "' (use B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)");
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

}  // namespace edgesim
