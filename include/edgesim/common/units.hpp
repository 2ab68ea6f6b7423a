#pragma once
// Human-friendly quantities in config files: "4GiB", "512MB", "1.5 GiB", "1048576 B".
#include <cstdint>
#include <string>

namespace edgesim {

// Bytes from "N B", "N KiB|MiB|GiB|TiB" (powers of 1024) or "N kB|KB|MB|GB|TB" (powers of
// 1000). Throws std::invalid_argument with a short reason on anything else, N < 0, or a bare
// "N" (no unit is an error, not bytes).
std::uint64_t parse_bytes(const std::string& text);
extern const char* const kSizeUnits;  // the accepted units, for messages
std::string format_bytes(std::uint64_t bytes);  // "3.5 MiB"

// A finite number > 0 (>= 0 with allow_zero) from a file's value; throws InputError
// "<where>: expected a number, got '...'" or "<where>: must be > 0, got '...'".
double positive_number(const std::string& where, const std::string& text, bool allow_zero);

}  // namespace edgesim
