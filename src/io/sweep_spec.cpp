#include "edgesim/io/sweep_spec.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "edgesim/common/error.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/io/toml.hpp"

namespace edgesim {
namespace {

namespace fs = std::filesystem;

int to_positive_int(const std::string& where, const std::string& v, int min) {
  try {
    std::size_t pos = 0;
    const long x = std::stol(v, &pos);
    if (pos == v.size() && x >= min) return static_cast<int>(x);
  } catch (const std::exception&) {
  }
  throw InputError(where + ": expected an integer >= " + std::to_string(min) + ", got '" + v + "'");
}

// Run names are file names, typed in shells: keep [A-Za-z0-9._-] (anything else, '=' and ','
// included, becomes '-'), and a path becomes its file stem.
std::string name_part(const std::string& value) {
  std::string v = value.find('/') != std::string::npos ? fs::path(value).stem().string() : value;
  for (char& c : v)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '-';
  return v;
}

// An axis's values as name parts. Values that only differ in what name_part drops (two
// "devs.toml" in different folders, "1,0.5" and "1;0.5") get their position in the axis
// appended, so run names stay unique.
std::vector<std::string> name_parts(const std::vector<std::string>& values) {
  std::vector<std::string> parts;
  std::map<std::string, int> uses;
  for (const auto& v : values) uses[name_part(v)]++;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const std::string p = name_part(values[i]);
    parts.push_back(uses[p] > 1 ? p + "-" + std::to_string(i + 1) : p);
  }
  return parts;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out + "\"";
}

}  // namespace

SweepSpec load_sweep_spec(const std::string& path) {
  SweepSpec spec;
  spec.source = path;
  const fs::path dir = fs::absolute(path).parent_path();
  for (const auto& e : read_toml_file(path)) {
    const std::string where = path + ": key '" + e.key + "'";
    auto single = [&] {
      if (e.values.size() != 1) throw InputError(where + ": expected a single value");
      return e.values[0];
    };
    if (e.key == "sweep.name") spec.name = single();
    else if (e.key == "sweep.base") spec.base = (dir / single()).lexically_normal().string();
    else if (e.key == "sweep.out_dir") spec.out_dir = single();
    else if (e.key == "sweep.set") spec.set = e.values;
    else if (e.key == "sweep.ranks") spec.ranks = to_positive_int(where, single(), 1);
    else if (e.key == "sweep.threads") spec.threads = to_positive_int(where, single(), 1);
    else if (e.key == "sweep.seeds") {
      spec.seeds.clear();
      for (const auto& v : e.values) spec.seeds.push_back(static_cast<std::uint64_t>(to_positive_int(where, v, 0)));
      if (spec.seeds.empty()) throw InputError(where + ": needs at least one seed");
    } else if (e.key.rfind("axes.", 0) == 0) {
      if (e.values.empty()) throw InputError(where + ": an axis needs at least one value");
      spec.axes.push_back({e.key.substr(5), "", e.values});
    } else if (e.key == "slurm.partition") spec.slurm.partition = single();
    else if (e.key == "slurm.time") spec.slurm.time = single();
    else if (e.key == "slurm.account") spec.slurm.account = single();
    else if (e.key == "slurm.nodes") spec.slurm.nodes = to_positive_int(where, single(), 1);
    else if (e.key == "slurm.max_parallel") spec.slurm.max_parallel = to_positive_int(where, single(), 0);
    else if (e.key == "slurm.overcommit") {
      const std::string v = single();
      if (v != "true" && v != "false") throw InputError(where + ": expected true or false, got '" + v + "'");
      spec.slurm.overcommit = v == "true";
    }
    else
      throw InputError(path + ": unknown key '" + e.key +
                       "' (sweep.{name,base,out_dir,seeds,set,ranks,threads}, axes.<config key>, "
                       "slurm.{partition,time,account,nodes,max_parallel,overcommit})");
  }
  if (spec.base.empty()) throw InputError(path + ": key 'sweep.base' is required: the base config");
  if (spec.name.empty()) spec.name = fs::path(path).stem().string();
  if (spec.out_dir.empty()) spec.out_dir = "results/" + spec.name;
  // Short labels: the key's last part, unless two axes share it.
  std::map<std::string, int> uses;
  for (const auto& a : spec.axes) uses[a.key.substr(a.key.rfind('.') + 1)]++;
  std::set<std::string> seen;
  for (auto& a : spec.axes) {
    if (!seen.insert(a.key).second) throw InputError(path + ": axis '" + a.key + "' appears twice");
    if (a.key == "run.seed") throw InputError(path + ": vary the seed with sweep.seeds, not an axis");
    const std::string last = a.key.substr(a.key.rfind('.') + 1);
    a.label = uses[last] > 1 ? name_part(a.key) : last;
  }
  return spec;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec) {
  std::vector<SweepRun> runs;
  std::vector<std::size_t> idx(spec.axes.size(), 0);
  std::vector<std::vector<std::string>> parts;
  for (const auto& axis : spec.axes) parts.push_back(name_parts(axis.values));
  for (;;) {
    for (std::uint64_t seed : spec.seeds) {
      SweepRun run;
      run.seed = seed;
      run.overrides = spec.set;
      for (std::size_t a = 0; a < spec.axes.size(); ++a) {
        const auto& axis = spec.axes[a];
        const std::string& value = axis.values[idx[a]];
        run.axis_values.emplace_back(axis.key, value);
        run.overrides.push_back(axis.key + "=" + value);
        // label-value, not label=value: '=' in file names needs quoting in some shells and tools.
        run.name += axis.label + "-" + parts[a][idx[a]] + "_";
      }
      run.name += "seed-" + std::to_string(seed);
      run.overrides.push_back("run.seed=" + std::to_string(seed));
      run.overrides.push_back("run.threads=" + std::to_string(spec.threads));
      run.overrides.push_back("run.name=" + run.name);
      run.results = (fs::path(spec.out_dir) / (run.name + ".h5")).string();
      runs.push_back(std::move(run));
    }
    // Odometer over the axes, last axis fastest.
    std::size_t a = spec.axes.size();
    while (a > 0 && ++idx[a - 1] == spec.axes[a - 1].values.size()) idx[--a] = 0;
    if (a == 0) break;
  }
  return runs;
}

void validate_sweep(const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  std::set<std::string> names;
  for (const auto& run : runs) {
    if (!names.insert(run.name).second)
      throw InputError(spec.source + ": two runs are named '" + run.name + "'; make the axis values distinct");
    try {
      load_config(spec.base, run.overrides);
    } catch (const InputError& e) {
      throw InputError("run '" + run.name + "': " + e.what());
    }
  }
}

std::string sweep_manifest_json(const SweepSpec& spec, const std::vector<SweepRun>& runs) {
  std::ostringstream j;
  j << "{\n  \"sweep\": " << json_string(spec.name) << ",\n  \"spec\": "
    << json_string(fs::absolute(spec.source).lexically_normal().string()) << ",\n  \"base\": " << json_string(spec.base)
    << ",\n  \"axes\": [";
  for (std::size_t a = 0; a < spec.axes.size(); ++a) j << (a ? ", " : "") << json_string(spec.axes[a].key);
  j << "],\n  \"seeds\": [";
  for (std::size_t s = 0; s < spec.seeds.size(); ++s) j << (s ? ", " : "") << spec.seeds[s];
  j << "],\n  \"runs\": [\n";
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const auto& run = runs[r];
    j << "    {\"name\": " << json_string(run.name) << ", \"results\": " << json_string(run.name + ".h5")
      << ", \"seed\": " << run.seed << ", \"axes\": {";
    for (std::size_t a = 0; a < run.axis_values.size(); ++a)
      j << (a ? ", " : "") << json_string(run.axis_values[a].first) << ": " << json_string(run.axis_values[a].second);
    j << "}}" << (r + 1 < runs.size() ? "," : "") << "\n";
  }
  j << "  ]\n}\n";
  return j.str();
}

}  // namespace edgesim
