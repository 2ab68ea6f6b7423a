#pragma once
// Human-friendly quantities in config files: "4GiB", "512MB", "1.5 GiB", 1048576.
#include <cstdint>
#include <string>

namespace edgesim {

// Bytes from "N", "N B", "N KiB|MiB|GiB|TiB" (powers of 1024) or "N kB|MB|GB|TB" (powers of
// 1000). Throws std::invalid_argument with a short reason on anything else or N < 0.
std::uint64_t parse_bytes(const std::string& text);
std::string format_bytes(std::uint64_t bytes);  // "3.5 MiB"

}  // namespace edgesim
