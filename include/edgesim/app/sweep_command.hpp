#pragma once
// `edgesim sweep SPEC.toml`: list, validate, run locally (several runs at a time, each under
// mpirun, skipping complete runs and resuming interrupted ones), or write and submit a Slurm
// job array. See docs/SWEEPS.md.
#include <string>

namespace edgesim {

struct SweepCommand {
  std::string spec;
  bool list = false, dry_run = false;
  bool slurm = false, submit = false;
  int jobs = 0;  // runs at a time; 0: as many as the cores allow
  bool oversubscribe = false;
};

int run_sweep_command(const SweepCommand& command);

}  // namespace edgesim
