#pragma once
// SIGTERM and SIGUSR1 (what Slurm sends before a time limit or a preemption) and a first
// Ctrl-C (SIGINT) ask the run to
// stop cleanly: the coordinator notices at its next wait or round boundary, checkpoints the
// last finished round and exits with kExitStopped. The handler only sets a flag.
namespace edgesim {

constexpr int kExitStopped = 3;  // stopped by a signal after writing a checkpoint

void install_stop_handlers();
bool stop_requested();

struct StopRequested {};  // thrown out of waits when a stop was requested

}  // namespace edgesim
