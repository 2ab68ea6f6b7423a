#pragma once
// A sweep: one base config, axes of config values to vary, and seeds. Expanded to the
// cartesian product (first axis slowest, seeds fastest), each run with a stable, readable
// name built from its axis values, e.g. `alpha-0.1_straggler-deadline_seed-2` (only
// [A-Za-z0-9._-], so it is a file name that needs no quoting in a shell).
//
//   [sweep]
//   name = "sweep-demo"
//   base = "../quickstart.toml"          # relative to this file
//   out_dir = "results/sweep-demo"       # relative to the current directory
//   seeds = [1, 2]
//   set = ["run.rounds=5"]               # applied to every run
//   ranks = 2                            # MPI ranks per run
//   threads = 1                          # LibTorch threads per rank (run.threads)
//   [axes]
//   data.alpha = [0.1, 0.5, 1.0]
//   algorithm.straggler = ["wait_all", "deadline"]
//   [slurm]
//   partition = "debug"  time = "00:30:00"  nodes = 1  max_parallel = 0  account = ""
//   overcommit = false
#include <string>
#include <utility>
#include <vector>

namespace edgesim {

struct SweepAxis {
  std::string key;                  // a config key, e.g. "data.alpha"
  std::string label;                // its short name in run names, e.g. "alpha"
  std::vector<std::string> values;  // as written in the spec
};

struct SweepRun {
  std::string name;
  std::uint64_t seed = 1;
  std::vector<std::pair<std::string, std::string>> axis_values;  // (key, value) per axis
  std::vector<std::string> overrides;  // every --set of this run, spec's `set` first
  std::string results;                 // out_dir/<name>.h5
};

struct SlurmOptions {
  std::string partition, time = "01:00:00", account;
  int nodes = 1, max_parallel = 0;  // 0: no limit on array tasks running at once
  bool overcommit = false;           // allow more ranks than the allocation's CPUs
};

struct SweepSpec {
  std::string source, name, base, out_dir;
  std::vector<std::uint64_t> seeds{1};
  std::vector<std::string> set;
  int ranks = 2, threads = 1;
  std::vector<SweepAxis> axes;
  SlurmOptions slurm;
};

// Throws InputError naming the spec file and the key.
SweepSpec load_sweep_spec(const std::string& path);
std::vector<SweepRun> expand_sweep(const SweepSpec& spec);

// Every run's config through the schema, before anything runs. Throws InputError naming the
// run and the key of the first bad run.
void validate_sweep(const SweepSpec& spec, const std::vector<SweepRun>& runs);

// manifest.json: the sweep, its axes and every run's name, seed, axis values and results file.
std::string sweep_manifest_json(const SweepSpec& spec, const std::vector<SweepRun>& runs);

}  // namespace edgesim
