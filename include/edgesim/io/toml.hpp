#pragma once
// TOML files read through CLI11's parser and flattened to dotted keys: the entry
// `lr = 0.1` under `[algorithm]` becomes key "algorithm.lr". Keys keep file order.
// Strings lose their quotes, arrays become several values.
#include <string>
#include <vector>

namespace edgesim {

struct TomlEntry {
  std::string key;
  std::vector<std::string> values;
};

// Throws InputError naming the file when it cannot be read or a line is not `key = value`.
std::vector<TomlEntry> read_toml_file(const std::string& path);
std::vector<TomlEntry> parse_toml(const std::string& text, const std::string& source);

}  // namespace edgesim
