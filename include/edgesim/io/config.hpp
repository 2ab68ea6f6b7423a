#pragma once
// The experiment config: a TOML file plus `--set key=value` overrides, checked against one
// schema (src/io/config.cpp) before anything runs. Unknown keys, wrong types and impossible
// values raise InputError naming the key and where it came from. The schema also renders
// the resolved config (every key, defaults filled in) and docs/CONFIG.md.
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim {

struct RunConfig {
  std::string name;
  std::uint64_t seed = 1;
  int rounds = 20;
  int eval_every = 1;
  double until_virtual_s = 0;  // virtual-time budget; 0 = none
  bool eval_initial = true;    // a round-0 row: the initial model at virtual time 0
  double warn_loss_growth = 3;  // learning monitor (runtime/learning_monitor.hpp); 0 = off
  int warn_chance_evals = 3;
  int threads = 1;  // LibTorch intra-op threads per rank
  int checkpoint_every = 10;
  std::string out;  // results file; empty = results/<name>.h5
};

struct DataConfig {
  std::string dataset = "fashion-mnist";  // images (fashion-mnist-32: padded to 32x32 RGB), or text (fortunes | wikitext)
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::string partition = "dirichlet";  // iid | dirichlet | shards
  double alpha = 0.5;
  int shards_per_device = 2;
  std::int64_t min_samples_per_device = 10;
  std::int64_t train_samples = 0;  // 0 = all
  std::int64_t test_samples = 0;   // 0 = all
  int synthetic_channels = 3, synthetic_size = 32, synthetic_classes = 10;
  std::uint64_t synthetic_seed = 1;
  // Text corpora give token windows for language models instead of labelled images.
  bool text() const { return dataset == "fortunes" || dataset == "wikitext"; }
};

struct DevicesConfig {
  std::string profiles;  // device-set TOML file, resolved to an absolute path
  int count = 16;
  std::string memory = "enforced";  // enforced | estimated
};

struct ModelConfig {
  std::string name = "cnn";  // cnn | vgg11 | vgg16 | resnet18 | vit | transformer
  double width = 1.0;
  bool static_bn = false;    // HeteroFL's BN without running statistics
  bool scaler = false;       // HeteroFL's 1/rate scaling of hidden outputs in training
  // Transformer: a preset (tiny | small | bert-base); layers, heads, d_model, ffn > 0 replace
  // the preset's. seq_len: tokens per window (the model's context).
  std::string preset = "tiny";
  int seq_len = 64;
  int layers = 0, heads = 0, d_model = 0, ffn = 0;
  std::string attention_slicing = "heads";  // heads | head_dims: what a narrower submodel keeps
  bool early_exits = false;  // an early-exit classifier after every block but the last
  std::string exit_blocks;   // with early_exits: the blocks that get one ("3,6,9"); empty = all but the last
  int patch = 0;             // ViT: patch size (0 = the preset's); model.preset: vit-tiny | vit-small | vit-b16
  std::string init_from;     // results file of an earlier run whose final global model starts this one
};

struct AlgorithmConfig {
  std::string name = "fedavg";
  std::string schedule = "auto";       // auto | sync | async | semi_async (algo/schedule.hpp)
  double semi_async_fraction = 0.5;    // semi_async: K = ceil(ρ·participants)
  double moon_mu = 1.0, moon_tau = 0.5;  // MOON's contrastive weight and temperature
  // MSfusion (algo/msfusion.hpp; every one a reconstruction, docs/ALGORITHMS.md).
  double msfusion_max_split = 0.5, msfusion_gap = 0.0;
  int msfusion_shift = 1;
  std::string msfusion_overlap = "adaptive";  // adaptive | fixed
  double msfusion_overlap_level = 1.0, msfusion_overlap_step = 0.1, msfusion_overlap_min = 0.0;
  double msfusion_contrastive_weight = 1.0, msfusion_tau = 0.5;
  int msfusion_representation = 1;  // the contrastive representation: layers before the classifier
  double fraction = 1.0;  // share of devices selected per round
  int local_epochs = 1;
  int batch_size = 32;
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
  std::string straggler = "wait_all";  // wait_all | deadline
  double deadline_s = 0.0;
  std::string weighting = "auto";      // auto | samples | uniform
  std::string rates;                   // per-device width rates, comma-separated, cycled
  std::string rate_rule = "memory";    // memory | memory_and_speed
  std::string rate_levels = "1,0.5,0.25,0.125,0.0625";
  double rate_memory_margin = 0.8;     // a rate fits when its estimate is below this share of the cap
  std::string slicing = "width";       // HeteroFL: what a rate shrinks: width | depth | width_and_depth
  int concurrency = 0;                 // async: devices training at once (0 = all)
  double async_alpha = 0.6;            // FedAsync mixing weight
  std::string staleness = "polynomial";  // constant | polynomial | hinge
  double staleness_a = 0.5, staleness_b = 4;
  int buffer_size = 10;                // FedBuff K
  double server_lr = 1.0;              // FedBuff η
  bool masked_ce = false;              // HeteroFL family: zero absent classes' logits in local training
  std::string label_split_merge = "auto";  // HeteroFL family: classifier rows over their labels' devices: auto | on | off
  std::string bn_statistics = "auto";  // evaluation: auto | model | training_pass (runtime/evaluation.hpp)
  std::int64_t bn_stats_samples = 2000;  // training_pass: training samples it runs (0 = all)
  bool fjord_distillation = false;     // FjORD: self-distillation from p_max
  // DepthFL: mutual self-distillation (temperature, ramp length in rounds) and FedDyn.
  bool depthfl_distillation = true;
  double depthfl_temperature = 1.0;
  int depthfl_ramp_rounds = 300;
  bool feddyn = true;
  double feddyn_alpha = 0.1;
  // Co-S²P (docs/ALGORITHMS.md): cross-block transfer (γ, T, first round) and the width rule.
  double co_s2p_gamma = 0.5, co_s2p_temperature = 3.0;
  int co_s2p_distill_from = 10;
  std::string co_s2p_width = "learned";  // learned | prefix | full
  int co_s2p_mask_rounds = 2, co_s2p_mask_epochs = 20;
  double co_s2p_mask_lambda = 1.0, co_s2p_mask_lr = 0.05;
  int co_s2p_window = 0;  // trainable blocks of a rolling window; 0 = the whole prefix
  int staleness_bound = 3;             // ssp: a device may be at most s iterations ahead of the slowest
  // AdaptCL (docs/ALGORITHMS.md): the pruned-rate learner and the channel-importance criterion.
  double adaptcl_slack = 0.1, adaptcl_gain = 0.5, adaptcl_cost_exponent = 2.0, adaptcl_keep_min = 0.1;
  double adaptcl_time_ema = 0.0, adaptcl_failure_backoff = 0.75;
  std::string adaptcl_importance = "bn_gamma";  // bn_gamma | l2_norm
  double adaptcl_bn_l1 = 1e-4;
};

// Pipeline runs (an algorithm whose catalog schedule is "pipeline": asteroid). An iteration is
// algorithm.batch_size samples in `micro_batches` micro-batches; run.rounds iterations.
struct PipelineConfig {
  std::string planner = "asteroid";  // asteroid | data_parallel | gpipe | pipedream | hetpipe
  int micro_batches = 0;             // 0 = the planner picks among the divisors of the batch
  int max_micro_batches = 32;
  int max_stages = 0;                // 0 = no limit
  std::string cuts = "blocks";       // blocks | layers: where stages may be cut
  std::string grouping = "auto";     // auto | subsets | sorted_runs (pipeline/planner.hpp)
  double op_overhead_s = 0.0;        // fixed seconds per forward/backward op
  std::string faults;                // "fail:D@T,leave:D@T" (pipeline/fault_schedule.hpp)
  double heartbeat_timeout_s = 0.1;  // a failure is noticed this long after it (virtual s)
  double failure_mtbf_s = 0;         // random failures: mean virtual seconds to a device's failure (0 = none)
  std::uint64_t failure_seed = 0;    // their stream's seed (0 = run.seed)
  std::string recovery = "replay";   // replay | restart (pipeline/recovery.hpp)
  int backup_every = 1;              // replay: iterations between refreshes of the stage backups
  int checkpoint_every = 10;         // restart: iterations between checkpoints to the store
};

struct ClockConfig {
  std::string mode = "analytic";  // analytic | calibrated | measured | realtime
  std::string profile;            // calibrated: the reference device's compute profile ("" = the device set's)
};

struct ExperimentConfig {
  RunConfig run;
  DataConfig data;
  DevicesConfig devices;
  ModelConfig model;
  AlgorithmConfig algorithm;
  PipelineConfig pipeline;
  ClockConfig clock;
  std::string source;         // the config file path
  std::string resolved_toml;  // every key with its final value, as TOML
  std::vector<std::string> warnings;  // said once on stderr by rank 0 (e.g. keys the algorithm ignores)
};

// Reads `path`, applies overrides ("section.key=value", later ones win), validates.
ExperimentConfig load_config(const std::string& path,
                             const std::vector<std::string>& overrides = {});

// "1,0.5,0.25" -> {1, 0.5, 0.25}; every rate in (0, 1]. Throws std::invalid_argument.
std::vector<double> parse_rate_list(const std::string& text);

// The config reference (docs/CONFIG.md) generated from the schema.
std::string config_reference_markdown();

}  // namespace edgesim
