#include "edgesim/device/profile.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include "edgesim/common/error.hpp"
#include "edgesim/common/units.hpp"
#include "edgesim/io/toml.hpp"

namespace edgesim {
namespace {

// ["21:12.0", "41:6.0"] -> {(21, 12.0), (41, 6.0)}: rounds >= 1, strictly ascending.
std::vector<std::pair<int, double>> parse_schedule(const std::string& where, const std::vector<std::string>& steps) {
  std::vector<std::pair<int, double>> out;
  for (const auto& step : steps) {
    const auto colon = step.find(':');
    int round = 0;
    try {
      std::size_t pos = 0;
      round = colon == std::string::npos ? 0 : std::stoi(step.substr(0, colon), &pos);
      if (colon == std::string::npos || pos != colon) throw std::invalid_argument(step);
    } catch (const std::exception&) {
      throw InputError(where + ": expected \"round:slowdown\" steps such as \"21:12.0\", got '" + step + "'");
    }
    if (round < 1 || (!out.empty() && round <= out.back().first))
      throw InputError(where + ": rounds must be >= 1 and strictly ascending, got '" + step + "'");
    out.emplace_back(round, positive_number(where, step.substr(colon + 1), false));
  }
  return out;
}

}  // namespace

double DeviceProfile::slowdown_at(std::int64_t round) const {
  double s = slowdown;
  for (const auto& [from, value] : slowdown_schedule)
    if (round >= from) s = value;
  return s;
}

DeviceProfile DeviceProfile::at_round(std::int64_t round) const {
  DeviceProfile p = *this;
  p.slowdown = slowdown_at(round);
  return p;
}

DeviceSet load_device_set(const std::string& path) {
  DeviceSet set;
  set.source = path;
  std::map<std::string, DeviceProfile> profiles;
  std::vector<std::string> order;
  std::map<std::string, int> profile_files;  // compute profile path -> index
  auto compute_profile = [&](const std::string& where, const std::string& v) {
    namespace fs = std::filesystem;
    const std::string file =
        fs::path(v).is_relative() ? (fs::path(path).parent_path() / v).lexically_normal().string() : v;
    if (auto it = profile_files.find(file); it != profile_files.end()) return it->second;
    try {
      set.compute_profiles.push_back(load_compute_profile(file));
    } catch (const InputError& e) {
      throw InputError(where + ": " + e.what());
    }
    return profile_files[file] = static_cast<int>(set.compute_profiles.size()) - 1;
  };
  for (const auto& e : read_toml_file(path)) {
    const std::string where = path + ": key '" + e.key + "'";
    if (e.key == "set.devices") {
      order = e.values;
      continue;
    }
    if (e.key.rfind("profiles.", 0) == 0 && e.key.size() > 18 &&
        e.key.compare(e.key.size() - 18, 18, ".slowdown_schedule") == 0) {
      const std::string name = e.key.substr(9, e.key.size() - 18 - 9);
      DeviceProfile& p = profiles[name];
      p.name = name;
      p.slowdown_schedule = parse_schedule(where, e.values);
      continue;
    }
    if (e.values.size() != 1) throw InputError(where + ": expected a single value");
    const std::string& v = e.values[0];
    if (e.key == "reference.name") {
      set.reference_name = v;
    } else if (e.key == "reference.compute_profile") {
      set.reference_compute_profile = compute_profile(where, v);
    } else if (e.key == "reference.flops_per_second") {
      set.reference_flops_per_s = positive_number(where, v, false);
    } else if (e.key.rfind("profiles.", 0) == 0 && e.key.find('.', 9) != std::string::npos) {
      const auto dot = e.key.rfind('.');
      const std::string name = e.key.substr(9, dot - 9), field = e.key.substr(dot + 1);
      DeviceProfile& p = profiles[name];
      p.name = name;
      if (field == "slowdown") p.slowdown = positive_number(where, v, false);
      else if (field == "memory") {
        // No cap only when spelled out: a missing or unit-less value is an error, never "no cap".
        if (v == kUnlimitedMemory) {
          p.memory_cap_bytes = kNoMemoryCap;
        } else {
          try {
            p.memory_cap_bytes = parse_bytes(v);
          } catch (const std::exception& ex) {
            throw InputError(where + ": profile '" + name + "': " + ex.what() + "; or \"" + kUnlimitedMemory +
                             "\" for no cap");
          }
        }
      } else if (field == "uplink_mbps") p.uplink_mbps = positive_number(where, v, false);
      else if (field == "downlink_mbps") p.downlink_mbps = positive_number(where, v, false);
      else if (field == "latency_ms") p.latency_s = positive_number(where, v, true) / 1000.0;
      else if (field == "compute_profile") p.compute_profile = compute_profile(where, v);
      else if (field == "profile_slowdown") p.profile_slowdown = positive_number(where, v, false);
      else
        throw InputError(path + ": unknown key '" + e.key +
                         "' (profile keys: slowdown, slowdown_schedule, memory, uplink_mbps, downlink_mbps, latency_ms, "
                         "compute_profile, profile_slowdown)");
    } else {
      throw InputError(path + ": unknown key '" + e.key +
                       "' (expected reference.name, reference.flops_per_second, reference.compute_profile, "
                       "profiles.<name>.<field>, set.devices)");
    }
  }
  if (set.reference_flops_per_s <= 0)
    throw InputError(path + ": key 'reference.flops_per_second' is required");
  if (order.empty()) throw InputError(path + ": key 'set.devices' is required: the list of profiles in the set");
  for (const auto& name : order) {
    auto it = profiles.find(name);
    if (it == profiles.end())
      throw InputError(path + ": key 'set.devices' names profile '" + name + "', which has no [profiles." + name + "] section");
    if (it->second.memory_cap_bytes == 0)
      throw InputError(path + ": key 'profiles." + name + ".memory' is required and must be > 0 (a size such as "
                       "\"2GiB\", or \"" + kUnlimitedMemory + "\" for no cap)");
    set.devices.push_back(it->second);
  }
  return set;
}

const ComputeProfile* compute_profile_of(const DeviceSet& set, const DeviceProfile& device, double* to_reference) {
  if (device.compute_profile >= 0) {
    *to_reference = device.profile_slowdown / device.slowdown;
    return &set.compute_profiles.at(device.compute_profile);
  }
  *to_reference = 1.0;
  return set.reference_compute_profile >= 0 ? &set.compute_profiles.at(set.reference_compute_profile) : nullptr;
}

std::vector<DeviceProfile> expand_devices(const DeviceSet& set, int count) {
  std::vector<DeviceProfile> out;
  out.reserve(count);
  for (int i = 0; i < count; ++i) out.push_back(set.devices[i % set.devices.size()]);
  return out;
}

}  // namespace edgesim
