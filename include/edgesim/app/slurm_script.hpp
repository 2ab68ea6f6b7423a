#pragma once
// A sweep as a Slurm job array: one array task per run. Writes OUT_DIR/slurm/runs.txt (one
// run's `edgesim run` command per line) and OUT_DIR/slurm/sweep.sbatch, which picks its line
// by SLURM_ARRAY_TASK_ID and runs it under mpirun inside the allocation. Every run carries
// --resume, so a requeued or preempted task continues from its checkpoint and a finished
// one is not redone. With `submit`, calls sbatch and prints the job id.
#include <string>
#include <vector>

#include "edgesim/io/sweep_spec.hpp"

namespace edgesim {

std::string shell_quote(const std::string& word);

// `commands[i]` is run i's argv, starting with the edgesim executable (no mpirun).
int write_slurm_array(const SweepSpec& spec, const std::vector<std::vector<std::string>>& commands, bool submit);

}  // namespace edgesim
