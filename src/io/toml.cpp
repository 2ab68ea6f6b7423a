#include "edgesim/io/toml.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

bool is_bare_key(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

std::vector<TomlEntry> parse_toml(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(in);
  } catch (const std::exception& e) {
    throw InputError(source + ": not valid TOML: " + e.what());
  }
  std::vector<TomlEntry> entries;
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // CLI11's section markers
    // CLI11 reads a stray line "foo bar" as the flag "foo bar" = true; TOML has no such line.
    if (!is_bare_key(item.name))
      throw InputError(source + ": '" + item.name + "' is not a `key = value` line");
    std::string key;
    for (const auto& p : item.parents) key += p + ".";
    entries.push_back({key + item.name, item.inputs});
  }
  return entries;
}

std::vector<TomlEntry> read_toml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_toml(buffer.str(), path);
}

}  // namespace edgesim
