// The edgesim command. `edgesim run CONFIG.toml` under mpirun: rank 0 coordinates, the
// other ranks host the devices. Every input problem (bad config, missing or corrupt data,
// an existing results file) is found before training starts and exits with code 2.
#include <CLI/CLI.hpp>
#include <mpi.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <unistd.h>

#include <H5public.h>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/catalog.hpp"
#include "edgesim/app/pipeline_run.hpp"
#include "edgesim/app/plan_command.hpp"
#include "edgesim/app/profile_command.hpp"
#include "edgesim/app/rate_summary.hpp"
#include "edgesim/app/sweep_command.hpp"
#include "edgesim/common/build_info.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/io/checkpoint.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/runtime/coordinator.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/initial_model.hpp"
#include "edgesim/runtime/pipeline_transport.hpp"
#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/transport.hpp"

namespace {

using namespace edgesim;

struct RunArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string out;
  bool overwrite = false;
  bool resume = false;
};

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string host_name() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string s(buf, len);
  return s.substr(0, s.find_first_of(",\n"));
}

std::string output_path(const ExperimentConfig& cfg, const RunArgs& args) {
  if (!args.out.empty()) return args.out;
  if (!cfg.run.out.empty()) return cfg.run.out;
  return "results/" + cfg.run.name + ".h5";
}

// Runs `step` on every rank; if any rank hits an InputError, the lowest such rank prints it
// and every rank learns to stop, so mpirun never hangs on a half-failed start.
template <class F>
bool all_ranks_ok(int rank, int size, F&& step) {
  std::string error;
  try {
    step();
  } catch (const InputError& e) {
    error = e.what();
  }
  int mine = error.empty() ? size : rank, first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == rank) std::cerr << "edgesim: error: " << error << std::endl;
  return first == size;
}

// "data: fortunes, 1920 training and 200 test windows of 32 tokens, vocabulary 98": what the
// devices train on (a language model's uniform-guess perplexity is its vocabulary size).
std::string describe_data(const Experiment& e) {
  const std::string counts = std::to_string(e.train.size()) + " training and " + std::to_string(e.test.size()) + " test";
  if (!e.train.text) return counts + " images, " + std::to_string(e.train.num_classes) + " classes";
  return counts + " windows of " + std::to_string(e.train.windows.seq_len) + " tokens, vocabulary " +
         std::to_string(e.train.num_classes);
}

// An asynchronous run's checkpoint must hold tasks in flight, on this run's devices, each
// with the model it started from; anything else is a damaged file.
void check_in_flight(const Checkpoint& c, int devices, int rounds, const std::string& path) {
  // Right after an aggregation the schedule has always started the next tasks.
  if (c.in_flight.empty() && c.round < rounds)
    throw InputError(path + ": corrupt checkpoint: no tasks in flight");
  for (const auto& t : c.device_state)
    if (t.device < 0 || t.device >= devices)
      throw InputError(path + ": corrupt checkpoint: state of device " + std::to_string(t.device) +
                       " that this run does not have");
  for (const auto& f : c.in_flight) {
    bool has_model = f.version == c.version;  // the checkpoint's own global model
    for (const auto& m : c.start_models) has_model |= m.first == f.version;
    if (f.device < 0 || f.device >= devices || !has_model)
      throw InputError(path + ": corrupt checkpoint: task in flight " + std::to_string(f.dispatch) + " names device " +
                       std::to_string(f.device) + " or model version " + std::to_string(f.version) +
                       " that this run does not have");
  }
}

// Rank 0 after set-up: open (or resume) the results file, run the rounds, report.
// Returns the process exit code.
int coordinate(const Experiment& experiment, const RunArgs& args, const std::string& out, const RunMetadata& meta,
               const std::vector<DeviceRecord>& devices, int size) {
  const auto& cfg = experiment.config;
  const std::string ckpt_path = out + ".ckpt";
  std::optional<Checkpoint> resume;
  std::unique_ptr<ResultsWriter> results;
  auto transport = make_transport(experiment, size);
  std::unique_ptr<Algorithm> algorithm;
  std::vector<RoundRecord> kept_rounds;  // resumed: the rows up to the checkpoint
  std::vector<float> initial_model;      // model.init_from: an earlier run's final model
  try {
    // The policy derives its settings (rates, cuts) from the config: a bad combination is an
    // input error, reported before the results file is touched.
    algorithm = make_algorithm(experiment);
    if (args.resume) {
      if (results_status(out) == "complete") {
        std::printf("%s is already complete; nothing to resume\n", out.c_str());
        transport->shutdown();
        return 0;
      }
      resume = load_checkpoint(ckpt_path);
      if (resume && resume->config_toml != cfg.resolved_toml)
        throw InputError("checkpoint " + ckpt_path + " was written with a different config; resume with the "
                         "same config and --set values, or start afresh with --overwrite");
      if (resume) check_in_flight(*resume, cfg.devices.count, cfg.run.rounds, ckpt_path);
      if (!resume && std::filesystem::exists(out))
        std::printf("no checkpoint %s: starting %s afresh\n", ckpt_path.c_str(), out.c_str());
    }
    if (!resume && !cfg.model.init_from.empty()) initial_model = initial_model_from(cfg, experiment.model);
    if (resume) {
      // Keep the rows up to the checkpoint's round (a killed run may have written more), in a
      // fresh file that then replaces the old one.
      const ResultsTables old = read_results(out);
      const std::string tmp = out + ".resume.tmp";
      results = std::make_unique<ResultsWriter>(tmp, true, meta, devices, experiment.label_classes());
      std::vector<TaskRecord> tasks;
      for (const auto& t : old.tasks)
        if (t.round <= resume->round) tasks.push_back(t);
      results->append_tasks(tasks);
      std::vector<WidthEvalRecord> widths;
      for (const auto& w : old.width_evals)
        if (w.round <= resume->round) widths.push_back(w);
      results->append_width_evals(widths);
      std::vector<TransferRecord> transfers;
      for (const auto& t : old.transfers)
        if (t.round <= resume->round) transfers.push_back(t);
      results->append_transfers(transfers);
      for (const auto& r : old.rounds)
        if (r.round <= resume->round) results->append_round(r), kept_rounds.push_back(r);
      std::filesystem::rename(tmp, out);
      std::printf("resuming %s after round %lld\n", out.c_str(), static_cast<long long>(resume->round));
    } else {
      results = std::make_unique<ResultsWriter>(out, args.overwrite || args.resume, meta, devices,
                                                experiment.label_classes());
    }
  } catch (const std::exception& e) {
    if (!dynamic_cast<const InputError*>(&e) && !dynamic_cast<const std::invalid_argument*>(&e)) throw;
    std::cerr << "edgesim: error: " << e.what() << std::endl;
    transport->shutdown();
    return 2;
  }
  std::printf("edgesim %s: %s — %d devices (%s) on %d rank(s), %s, %d rounds, clock %s -> %s\n", build::kVersion,
              cfg.run.name.c_str(), cfg.devices.count, cfg.devices.profiles.c_str(), size, cfg.algorithm.name.c_str(),
              cfg.run.rounds, cfg.clock.mode.c_str(), out.c_str());
  std::printf("data: %s, %s\n", cfg.data.dataset.c_str(), describe_data(experiment).c_str());
  const RateSummary rates = summarize_rates(experiment, *algorithm);
  for (const auto& line : rates.lines) std::printf("%s\n", line.c_str());
  if (cfg.run.until_virtual_s > 0)
    std::printf("virtual-time budget: %g s (run.until_virtual_s; run.rounds = %d is the upper bound)\n",
                cfg.run.until_virtual_s, cfg.run.rounds);
  std::fflush(stdout);
  for (const auto& w : rates.warnings) std::cerr << "edgesim: warning: " << w << std::endl;

  CoordinatorOptions options{ckpt_path, cfg.run.checkpoint_every, resume ? &*resume : nullptr};
  options.resume_rounds = kept_rounds;
  if (!initial_model.empty()) options.initial_model = &initial_model;
  options.warnings = cfg.warnings;  // said on stderr before the experiment was built
  options.warnings.insert(options.warnings.end(), rates.warnings.begin(), rates.warnings.end());
  RunSummary s;
  try {
    s = run_coordinator(experiment, *algorithm, *transport, *results, options);
  } catch (const std::exception& e) {
    // Not an input problem (those are caught before the run): a failure of the machine or a
    // bug. Say what it was; the caller aborts the other ranks.
    std::cerr << "edgesim: fatal: " << e.what() << std::endl;
    return 1;
  }
  results.reset();
  if (s.stopped) return kExitStopped;
  const std::string budget = s.ended_by == "until_virtual_s" ? " (virtual-time budget reached)" : "";
  std::printf(
      "done: %d rounds%s, final accuracy %.2f%% (best %.2f%%), virtual time %.1f s, utilisation %.1f%%, "
      "coordinator peak RSS %.0f MiB, wall time %.1f s -> %s\n",
      s.rounds, budget.c_str(), s.final_accuracy * 100, s.best_accuracy * 100, s.virtual_time_s,
      s.resource_utilisation * 100, s.coordinator_peak_rss_bytes / (1 << 20), s.wall_time_s, out.c_str());
  return 0;
}

int run_command(const RunArgs& args) {
  MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  install_stop_handlers();

  ExperimentConfig cfg;
  std::string out;
  bool ok = all_ranks_ok(rank, size, [&] {
    cfg = load_config(args.config, args.sets);
    out = output_path(cfg, args);
    if (rank == 0 && !args.overwrite && !args.resume && std::filesystem::exists(out))
      throw InputError("results file '" + out + "' already exists; pass --overwrite to replace it, or --resume");
  });
  if (!ok) {
    MPI_Finalize();
    return 2;
  }
  if (rank == 0)
    for (const auto& w : cfg.warnings) std::cerr << "edgesim: warning: " << w << std::endl;
  torch::set_num_threads(cfg.run.threads);

  Experiment experiment;
  ok = all_ranks_ok(rank, size, [&] { experiment = Experiment::build(cfg); });
  if (!ok) {
    MPI_Finalize();
    return 2;
  }

  if (rank != 0) {
    if (is_pipeline_run(cfg))
      serve_pipeline(experiment, rank, size);  // stage replicas (runtime/pipeline_transport.hpp)
    else
      serve_tasks(experiment, rank, size);
    MPI_Finalize();
    return 0;
  }

  RunMetadata meta{cfg.resolved_toml, cfg.run.seed, build::kVersion, build::kGitCommit, TORCH_VERSION,
                   mpi_library_version(), host_name(), now_utc(), model_tensor_shapes(experiment.model)};
  std::vector<DeviceRecord> devices;
  for (std::size_t d = 0; d < experiment.devices.size(); ++d) {
    const auto& p = experiment.devices[d];
    devices.push_back({static_cast<std::int64_t>(d), p.name, p.slowdown, static_cast<std::int64_t>(p.memory_cap_bytes),
                       p.uplink_mbps, p.downlink_mbps, p.latency_s,
                       static_cast<std::int64_t>(experiment.partition.indices[d].size()),
                       experiment.partition.label_histogram[d]});
  }
  const int rc = is_pipeline_run(cfg) ? run_pipeline(experiment, out, args.overwrite, args.resume, meta, devices, size)
                                      : coordinate(experiment, args, out, meta, devices, size);
  // Stopped or failed mid-run: executors may be mid-task; end them all.
  if ((rc == kExitStopped || rc == 1) && size > 1) MPI_Abort(MPI_COMM_WORLD, rc);
  MPI_Finalize();
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgesim: collaborative training on emulated heterogeneous edge devices"};
  app.set_version_flag("--version", std::string("edgesim ") + edgesim::build::kVersion + " (" +
                                        edgesim::build::kGitCommit + ")");
  app.require_subcommand(1);

  RunArgs run;
  auto* run_cmd = app.add_subcommand("run", "Run one experiment (under mpirun for several ranks)");
  run_cmd->add_option("config", run.config, "Experiment config (TOML)")->required();
  run_cmd->add_option("--set", run.sets, "Override a config key: --set section.key=value (repeatable)");
  run_cmd->add_option("--out", run.out, "Results file (default: run.out, else results/<run.name>.h5)");
  run_cmd->add_flag("--overwrite", run.overwrite, "Replace an existing results file");
  run_cmd->add_flag("--resume", run.resume,
                    "Continue from the results file's checkpoint (<out>.ckpt); start afresh if there is none; "
                    "do nothing if the run is complete");

  SweepCommand sweep;
  auto* sweep_cmd = app.add_subcommand("sweep", "Run a sweep (axes x seeds) locally or as a Slurm job array");
  sweep_cmd->add_option("spec", sweep.spec, "Sweep spec (TOML), see docs/SWEEPS.md")->required();
  sweep_cmd->add_flag("--list", sweep.list, "Print the expanded runs and exit");
  sweep_cmd->add_flag("--dry-run", sweep.dry_run, "Validate every run's config and exit");
  sweep_cmd->add_option("--jobs", sweep.jobs, "Runs at a time (default: as many as the cores allow)");
  sweep_cmd->add_flag("--oversubscribe", sweep.oversubscribe, "Allow more busy ranks than cores");
  sweep_cmd->add_flag("--slurm", sweep.slurm, "Write a Slurm job array script instead of running");
  sweep_cmd->add_flag("--submit", sweep.submit, "With --slurm: submit it with sbatch");

  edgesim::ProfileCommand profile;
  auto* profile_cmd = app.add_subcommand("profile", "Measure this host and write a compute profile for clock.mode = "
                                                    "\"calibrated\" (docs/CLOCK.md)");
  profile_cmd->add_option("--out", profile.out, "Compute profile to write (default profile.toml)");
  profile_cmd->add_option("--name", profile.name, "The profile's name (default: the host name)");
  profile_cmd->add_option("--check", profile.check, "Also compare predicted and measured task times: CSV to write");
  profile_cmd->add_option("--use", profile.use, "With --check: check this profile instead of measuring a new one");
  profile_cmd->add_option("--timings", profile.timings, "Raw measurements to write (default: OUT's name with .timings.csv)");
  profile_cmd->add_option("--from", profile.from, "Fit from these raw measurements (a --timings CSV) instead of measuring");
  profile_cmd->add_flag("--quick", profile.quick, "Fewer widths and batch sizes (a smoke test, not a calibration)");
  profile_cmd->add_option("--repeats", profile.repeats,
                          "Timed rounds of every task (default 7): more where the host is noisy")
      ->check(CLI::Range(1, 1000));
  profile_cmd
      ->add_option("--statistic", profile.statistic,
                   "A task's time from its rounds, for the fit and the check: median (default), lower-quartile or min")
      ->check(CLI::IsMember({"median", "lower-quartile", "min"}));

  PlanCommand plan;
  auto* plan_cmd = app.add_subcommand("plan", "Print the pipeline plan(s) of a pipeline run's config (asteroid)");
  plan_cmd->add_option("config", plan.config, "Experiment config (TOML)")->required();
  plan_cmd->add_option("--set", plan.sets, "Override a config key: --set section.key=value (repeatable)");
  plan_cmd->add_flag("--all", plan.all, "Asteroid and every baseline planner, not only pipeline.planner");

  app.add_subcommand("config-reference", "Print the config key reference (Markdown)");
  app.add_subcommand("algorithms", "List the algorithms, their default schedule and the keys each reads");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (app.got_subcommand("config-reference")) {
      std::cout << edgesim::config_reference_markdown();
      return 0;
    }
    if (app.got_subcommand("algorithms")) {
      for (const auto& a : edgesim::algorithm_catalog()) {
        std::cout << a.name << "  (" << a.schedule << ")  " << a.summary << "\n   ";
        for (const auto& k : a.keys) std::cout << ' ' << k;
        std::cout << "\n";
      }
      return 0;
    }
    if (app.got_subcommand("sweep")) return edgesim::run_sweep_command(sweep);
    if (app.got_subcommand("profile")) return edgesim::run_profile_command(profile);

    if (app.got_subcommand("plan")) return edgesim::run_plan_command(plan);
    return run_command(run);
  } catch (const edgesim::InputError& e) {
    std::cerr << "edgesim: error: " << e.what() << std::endl;
    return 2;
  }
}
