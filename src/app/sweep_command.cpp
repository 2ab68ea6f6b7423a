#include "edgesim/app/sweep_command.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "edgesim/app/slurm_script.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/io/sweep_spec.hpp"
#include "edgesim/runtime/stop_signal.hpp"

extern char** environ;

namespace edgesim {
namespace {

namespace fs = std::filesystem;

std::string self_executable() { return fs::read_symlink("/proc/self/exe").string(); }

// The command line of one run: `edgesim run BASE --set ... --out FILE --resume`, under mpirun
// when it has more than one rank.
std::vector<std::string> run_command(const SweepSpec& spec, const SweepRun& run, const std::string& edgesim) {
  std::vector<std::string> argv;
  if (spec.ranks > 1) {
    // 20 s between forwarding SIGTERM and SIGKILL (default 1 s): time to write the checkpoint.
    argv = {"mpirun", "--oversubscribe", "--bind-to", "none", "--mca", "odls_base_sigkill_timeout", "20",
            "-np", std::to_string(spec.ranks)};
    if (geteuid() == 0) argv.push_back("--allow-run-as-root");
  }
  for (const std::string& a : {edgesim, std::string("run"), spec.base}) argv.push_back(a);
  for (const auto& o : run.overrides) argv.insert(argv.end(), {"--set", o});
  argv.insert(argv.end(), {"--out", run.results, "--resume"});
  return argv;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int run_locally(const SweepSpec& spec, const std::vector<SweepRun>& runs, const SweepCommand& cmd) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // A coordinator mostly waits; the executors are what keep cores busy.
  const int demand = std::max(1, spec.ranks - 1) * spec.threads;
  const int jobs = cmd.jobs > 0 ? cmd.jobs : std::max(1, cores / demand);
  if (jobs * demand > cores && !cmd.oversubscribe)
    throw InputError("--jobs " + std::to_string(jobs) + " runs x " + std::to_string(demand) +
                     " busy cores each (ranks - 1 executors x threads) exceeds this machine's " +
                     std::to_string(cores) + " cores; lower --jobs or pass --oversubscribe");

  const fs::path logs = fs::path(spec.out_dir) / "logs";
  fs::create_directories(logs);
  const std::string edgesim = self_executable();
  std::vector<const SweepRun*> todo;
  for (const auto& run : runs)
    if (results_status(run.results) != "complete") todo.push_back(&run);
  std::printf("sweep %s: %zu runs, %zu complete, %zu to run, %d at a time (%d ranks x %d threads each) -> %s\n",
              spec.name.c_str(), runs.size(), runs.size() - todo.size(), todo.size(), jobs, spec.ranks, spec.threads,
              spec.out_dir.c_str());
  std::fflush(stdout);

  install_stop_handlers();
  std::map<pid_t, std::pair<const SweepRun*, std::chrono::steady_clock::time_point>> running;
  std::size_t next = 0, done = 0;
  bool forwarded = false;
  std::vector<std::string> failed;
  while ((!stop_requested() && next < todo.size()) || !running.empty()) {
    while (!stop_requested() && next < todo.size() && static_cast<int>(running.size()) < jobs) {
      const SweepRun& run = *todo[next++];
      const std::string log = (logs / (run.name + ".log")).string();
      running[spawn(run_command(spec, run, edgesim), log)] = {&run, std::chrono::steady_clock::now()};
      std::printf("[%zu/%zu] started %s (log %s)\n", next, todo.size(), run.name.c_str(), log.c_str());
      std::fflush(stdout);
    }
    // Ctrl-C or SIGTERM: ask every run to checkpoint and stop (once), then wait for them.
    if (stop_requested() && !forwarded) {
      for (const auto& [child, info] : running) kill(child, SIGTERM);
      forwarded = true;
    }
    // Poll: signal handlers restart system calls (SA_RESTART), so a blocking wait would not
    // notice a stop request until some run ended by itself.
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (pid < 0) {
      if (errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const SweepRun& run = *it->second.first;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.second).count();
    running.erase(it);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && results_status(run.results) == "complete";
    if (ok) {
      std::printf("[%zu/%zu] done %s (%.1f s)\n", ++done, todo.size(), run.name.c_str(), secs);
    } else if (stop_requested()) {
      std::printf("stopped %s (it resumes from its checkpoint next time)\n", run.name.c_str());
    } else {
      failed.push_back(run.name);
      std::printf("FAILED %s (exit %d), see %s\n", run.name.c_str(), WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                  (logs / (run.name + ".log")).c_str());
    }
    std::fflush(stdout);
  }
  if (stop_requested()) {
    std::printf("sweep interrupted: %zu of %zu runs done; run the same command again to continue\n",
                runs.size() - todo.size() + done, runs.size());
    return 130;
  }
  std::printf("sweep %s: %zu runs complete, %zu failed\n", spec.name.c_str(), runs.size() - failed.size(),
              failed.size());
  return failed.empty() ? 0 : 1;
}

}  // namespace

int run_sweep_command(const SweepCommand& cmd) {
  const SweepSpec spec = load_sweep_spec(cmd.spec);
  const std::vector<SweepRun> runs = expand_sweep(spec);
  if (cmd.list) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::printf("%3zu  %s\n", i, runs[i].name.c_str());
      std::string sets;
      for (const auto& o : runs[i].overrides) sets += " --set " + o;
      std::printf("     %s%s --out %s\n", spec.base.c_str(), sets.c_str(), runs[i].results.c_str());
    }
    return 0;
  }
  validate_sweep(spec, runs);
  if (cmd.dry_run) {
    std::printf("sweep %s: all %zu runs are valid\n", spec.name.c_str(), runs.size());
    return 0;
  }
  fs::create_directories(spec.out_dir);
  std::ofstream(fs::path(spec.out_dir) / "manifest.json") << sweep_manifest_json(spec, runs);
  if (cmd.slurm) {
    std::vector<std::vector<std::string>> commands;
    for (const auto& run : runs) {
      auto argv = run_command(spec, run, self_executable());
      commands.push_back(std::vector<std::string>(std::find(argv.begin(), argv.end(), self_executable()), argv.end()));
    }
    return write_slurm_array(spec, commands, cmd.submit);
  }
  return run_locally(spec, runs, cmd);
}

}  // namespace edgesim
