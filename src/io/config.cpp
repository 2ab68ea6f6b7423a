#include "edgesim/io/config.hpp"
#include "edgesim/pipeline/fault_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>

#include "edgesim/algo/catalog.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/data/text.hpp"
#include "edgesim/io/toml.hpp"
#include "edgesim/model/zoo.hpp"

namespace edgesim {
namespace {

namespace fs = std::filesystem;

enum class Type { kInt, kFloat, kString, kBool };

// One config key: its type, default (as TOML text), what it means, and where it lands.
// `check` returns an empty string when the value is acceptable, else why it is not.
struct Key {
  std::string name;
  Type type;
  std::string default_value;
  std::string doc;
  std::function<void(ExperimentConfig&, const std::string&)> assign;
  std::function<std::string(const std::string&)> check;
};

long long to_int(const std::string& v) {
  std::size_t pos = 0;
  const long long x = std::stoll(v, &pos);
  if (pos != v.size()) throw std::invalid_argument(v);
  return x;
}
double to_float(const std::string& v) {
  std::size_t pos = 0;
  const double x = std::stod(v, &pos);
  if (pos != v.size() || !std::isfinite(x)) throw std::invalid_argument(v);
  return x;
}

std::function<std::string(const std::string&)> at_least(double lo) {
  return [lo](const std::string& v) {
    std::ostringstream s;
    s << "must be >= " << lo;
    return to_float(v) >= lo ? std::string() : s.str();
  };
}
std::function<std::string(const std::string&)> greater_than(double lo) {
  return [lo](const std::string& v) {
    std::ostringstream s;
    s << "must be > " << lo;
    return to_float(v) > lo ? std::string() : s.str();
  };
}
std::function<std::string(const std::string&)> one_of(std::vector<std::string> choices) {
  return [choices](const std::string& v) {
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return std::string();
    std::string s = "must be one of";
    for (const auto& c : choices) s += " '" + c + "'";
    return s;
  };
}
std::function<std::string(const std::string&)> any() {
  return [](const std::string&) { return std::string(); };
}

#define EDGESIM_FIELD(field, conv) [](ExperimentConfig& c, const std::string& v) { c.field = conv; }

const std::vector<Key>& schema() {
  static const std::vector<Key> keys = {
      {"run.name", Type::kString, "\"\"", "Run name, used in output names and plots; empty = the config file's stem.",
       EDGESIM_FIELD(run.name, v), any()},
      {"run.seed", Type::kInt, "1", "Seed of every random stream (model init, partition, selection, shuffling).",
       EDGESIM_FIELD(run.seed, static_cast<std::uint64_t>(to_int(v))), at_least(0)},
      {"run.rounds", Type::kInt, "20", "Number of rounds (pipeline runs: iterations).", EDGESIM_FIELD(run.rounds, static_cast<int>(to_int(v))), at_least(1)},
      {"run.eval_every", Type::kInt, "1", "Evaluate the global model on the test set every k rounds (and after the last).",
       EDGESIM_FIELD(run.eval_every, static_cast<int>(to_int(v))), at_least(1)},
      {"run.until_virtual_s", Type::kFloat, "0",
       "Virtual-time budget in seconds (0 = none): the run ends after the round (synchronous) or aggregation "
       "(asynchronous) whose virtual end time reaches it, so runs of different speeds compare at equal time; "
       "`run.rounds` stays the upper bound. `/` attribute `ended_by` says which ended the run.",
       EDGESIM_FIELD(run.until_virtual_s, to_float(v)), at_least(0)},
      {"run.eval_initial", Type::kBool, "true",
       "Evaluate the initial model before training: a `/rounds` row with round 0 at virtual time 0 (participants 0), "
       "so every curve starts at the same point.",
       EDGESIM_FIELD(run.eval_initial, v == "true"), any()},
      {"run.warn_loss_growth", Type::kFloat, "3",
       "Warn (stderr and the `warnings` attribute) when a round's train loss exceeds this factor times the initial "
       "model's test loss (round 0; without it, round 1's train loss) times the number of classifiers the local "
       "objective sums (DepthFL's and Co-S²P's exits; 1 otherwise): training is diverging. 0 = never.",
       EDGESIM_FIELD(run.warn_loss_growth, to_float(v)), at_least(0)},
      {"run.warn_chance_evals", Type::kInt, "3",
       "Warn when this many consecutive evaluations after training (round >= 1) have test accuracy at chance "
       "(at most 1.2 / classes): the model is not learning. 0 = never.",
       EDGESIM_FIELD(run.warn_chance_evals, static_cast<int>(to_int(v))), at_least(0)},
      {"run.threads", Type::kInt, "1", "LibTorch intra-op threads per rank. 1 keeps results bit-identical across machines.",
       EDGESIM_FIELD(run.threads, static_cast<int>(to_int(v))), at_least(1)},
      {"run.checkpoint_every", Type::kInt, "10",
       "Checkpoint the coordinator every k rounds (0 = only on SIGTERM/SIGUSR1) to `<results file>.ckpt`; "
       "`edgesim run --resume` continues from it.",
       EDGESIM_FIELD(run.checkpoint_every, static_cast<int>(to_int(v))), at_least(0)},
      {"run.out", Type::kString, "\"\"", "Results file (HDF5); empty = `results/{run.name}.h5`. `--out` overrides it. A relative path is taken "
       "relative to the working directory.",
       EDGESIM_FIELD(run.out, v), any()},
      {"data.dataset", Type::kString, "\"fashion-mnist\"", "Dataset: `fashion-mnist`, `fashion-mnist-32` (the same "
       "images padded with 2 black pixels on every side to 32x32 and repeated to 3 channels: a real task in CIFAR's "
       "shapes for VGG/ResNet-18), `cifar10`, `cifar100` (binary version; `data.path` = the folder of "
       "`data_batch_*.bin` / `train.bin`), or `synthetic` (learnable random images, see `data.synthetic_*`). Text, for "
       "`model.name = \"transformer\"`: `fortunes` (characters of Debian's `fortunes` package; every 10th fortune is "
       "the test split) or `wikitext` (words of WikiText-2/-103: `data.path` = the folder of "
       "`wiki.{train,valid,test}.tokens`). A text sample is a window of `model.seq_len` tokens and its next tokens.",
       EDGESIM_FIELD(data.dataset, v), one_of({"fashion-mnist", "fashion-mnist-32", "cifar10", "cifar100", "synthetic", "fortunes", "wikitext"})},
      {"data.path", Type::kString, "\"/usr/share/datasets/fashion-mnist\"",
       "Directory holding the gzip'd IDX files (Debian package `dataset-fashion-mnist`). With `dataset = \"fortunes\"` "
       "the default is `/usr/share/games/fortunes`. A relative path is taken relative to the working directory.",
       EDGESIM_FIELD(data.path, v), any()},
      {"data.partition", Type::kString, "\"dirichlet\"",
       "How training samples are split among devices: `iid`, `dirichlet` (label skew set by `data.alpha`) or `shards` "
       "(McMahan et al.). Text datasets have no labels: `iid` only (their default).",
       EDGESIM_FIELD(data.partition, v), one_of({"iid", "dirichlet", "shards"})},
      {"data.alpha", Type::kFloat, "0.5", "Dirichlet concentration; smaller = more label skew.",
       EDGESIM_FIELD(data.alpha, to_float(v)), greater_than(0)},
      {"data.shards_per_device", Type::kInt, "2", "Shards per device for `partition = \"shards\"`.",
       EDGESIM_FIELD(data.shards_per_device, static_cast<int>(to_int(v))), at_least(1)},
      {"data.min_samples_per_device", Type::kInt, "10", "Dirichlet partitions are redrawn until every device has this many samples.",
       EDGESIM_FIELD(data.min_samples_per_device, to_int(v)), at_least(1)},
      {"data.train_samples", Type::kInt, "0", "Use only the first N training samples (text: windows) (0 = all). For quick tests.",
       EDGESIM_FIELD(data.train_samples, to_int(v)), at_least(0)},
      {"data.test_samples", Type::kInt, "0", "Use only the first N test samples (text: windows) (0 = all).",
       EDGESIM_FIELD(data.test_samples, to_int(v)), at_least(0)},
      {"data.synthetic_channels", Type::kInt, "3", "Synthetic images: channels.",
       EDGESIM_FIELD(data.synthetic_channels, static_cast<int>(to_int(v))), at_least(1)},
      {"data.synthetic_size", Type::kInt, "32", "Synthetic images: height = width.",
       EDGESIM_FIELD(data.synthetic_size, static_cast<int>(to_int(v))), at_least(8)},
      {"data.synthetic_classes", Type::kInt, "10", "Synthetic images: classes.",
       EDGESIM_FIELD(data.synthetic_classes, static_cast<int>(to_int(v))), at_least(2)},
      {"data.synthetic_seed", Type::kInt, "1", "Synthetic images: seed of the class prototypes and samples.",
       EDGESIM_FIELD(data.synthetic_seed, static_cast<std::uint64_t>(to_int(v))), at_least(0)},
      {"devices.profiles", Type::kString, "\"\"",
       "Device-set file (see experiments/devices/). A relative path is taken relative to the config file, in a "
       "`--set` relative to the working directory.",
       EDGESIM_FIELD(devices.profiles, v), any()},
      {"devices.count", Type::kInt, "16", "Number of devices; the set's list is cycled when it lists fewer.",
       EDGESIM_FIELD(devices.count, static_cast<int>(to_int(v))), at_least(1)},
      {"devices.memory", Type::kString, "\"enforced\"",
       "`enforced`: a counting allocator fails any allocation that would take a task past its device's memory cap "
       "(the task ends as `oom`), and /tasks records the measured peak. `estimated`: only the analytic estimate is "
       "checked (faster; peak_memory_bytes = 0). Pipeline runs: every stage replica is metered, a peak over its "
       "device's cap makes the iteration `oom` after its ops (/pipeline_memory records estimate and peak).",
       EDGESIM_FIELD(devices.memory, v), one_of({"enforced", "estimated"})},
      {"model.name", Type::kString, "\"cnn\"",
       "Model: `cnn` (two 5x5 convs, two linear layers), `vgg11`, `vgg16` (with BN), `resnet18` (CIFAR form), "
       "`vit` (Vision Transformer, see `model.preset`) for images; "
       "`transformer` (decoder-only language model, see `model.preset`) for text datasets.",
       EDGESIM_FIELD(model.name, v), one_of({"cnn", "vgg11", "vgg16", "resnet18", "vit", "transformer"})},
      {"model.width", Type::kFloat, "1.0", "Width multiplier of every hidden unit group (1.0 = the published widths, e.g. the CNN's 16/32 channels and 128 units).",
       EDGESIM_FIELD(model.width, to_float(v)), greater_than(0)},
      {"model.static_bn", Type::kBool, "false", "BatchNorm without running statistics (HeteroFL's static BN).",
       EDGESIM_FIELD(model.static_bn, v == "true"), any()},
      {"model.scaler", Type::kBool, "false",
       "HeteroFL's scaler: in training, conv and hidden linear outputs of a width-r submodel are multiplied by 1/r.",
       EDGESIM_FIELD(model.scaler, v == "true"), any()},
      {"model.preset", Type::kString, "\"tiny\"",
       "Transformer size: `tiny` (2 layers, d_model 128, 4 heads, FFN 512), `small` (4, 256, 4, 1024) or "
       "`bert-base` (12, 768, 12, 3072: ~110 M parameters with BERT's 30522-word vocabulary). The vocabulary comes "
       "from the corpus. ViT size (`model.name = \"vit\"`; left at the default it is `vit-tiny`): `vit-tiny` "
       "(patch 4, d_model 64, 4 heads, MLP 256, 6 blocks: a laptop size for 32x32 images), `vit-small` (ViT-S/16: "
       "16, 384, 6, 1536, 12) or `vit-b16` (ViT-B/16: 16, 768, 12, 3072, 12; ~86 M parameters at 224x224 with 1000 "
       "classes, Co-S²P's scale).",
       EDGESIM_FIELD(model.preset, v), one_of({"tiny", "small", "bert-base", "vit-tiny", "vit-small", "vit-b16"})},
      {"model.patch", Type::kInt, "0", "ViT: patch size in pixels (must divide the image size; 0 = the preset's).",
       EDGESIM_FIELD(model.patch, static_cast<int>(to_int(v))), at_least(0)},
      {"model.seq_len", Type::kInt, "64", "Transformer: tokens per sample (context length).",
       EDGESIM_FIELD(model.seq_len, static_cast<int>(to_int(v))), at_least(1)},
      {"model.layers", Type::kInt, "0", "Transformer and ViT: blocks (0 = the preset's).",
       EDGESIM_FIELD(model.layers, static_cast<int>(to_int(v))), at_least(0)},
      {"model.heads", Type::kInt, "0", "Transformer and ViT: attention heads; must divide d_model (0 = the preset's).",
       EDGESIM_FIELD(model.heads, static_cast<int>(to_int(v))), at_least(0)},
      {"model.d_model", Type::kInt, "0", "Transformer and ViT: model (embedding) width (0 = the preset's).",
       EDGESIM_FIELD(model.d_model, static_cast<int>(to_int(v))), at_least(0)},
      {"model.ffn", Type::kInt, "0", "Transformer and ViT: feed-forward (MLP) hidden units per block (0 = the preset's).",
       EDGESIM_FIELD(model.ffn, static_cast<int>(to_int(v))), at_least(0)},
      {"model.attention_slicing", Type::kString, "\"heads\"",
       "Transformer: what a narrower submodel keeps of each attention layer: whole `heads` (ceil(rate·heads) of "
       "them), or every head with ceil(rate·head_dim) of its dimensions (`head_dims`, as HeteroFL's Transformer "
       "scales its width).",
       EDGESIM_FIELD(model.attention_slicing, v), one_of({"heads", "head_dims"})},
      {"model.early_exits", Type::kBool, "false",
       "An early-exit classifier after every block of the model but the last (blocks: the CNN's two conv stages "
       "and hidden layer, VGG's conv stages, ResNet-18's residual blocks, the ViT's and the Transformer's encoder "
       "blocks): global average pool + linear (ViT: layernorm + linear on the class token; Transformer: layernorm + "
       "the tied head). Needed to cut the model in depth (`algorithm.slicing`). The model's own forward pass does "
       "not run them.",
       EDGESIM_FIELD(model.early_exits, v == "true"), any()},
      {"model.exit_blocks", Type::kString, "\"\"",
       "With `model.early_exits`: the blocks (1-based, ascending, below the last) that get an early exit, "
       "comma-separated, e.g. \"3,6,9\" for Co-S²P's ViT-B (exits after blocks 3, 6, 9 and its own head after 12). "
       "Empty = every block but the last. A model cut in depth must end at a block with an exit.",
       EDGESIM_FIELD(model.exit_blocks, v), any()},
      {"model.init_from", Type::kString, "\"\"",
       "Results file (.h5) of an earlier run with the same architecture: its final global model (`/final_model`) "
       "is this run's initial model. A relative path is taken relative to the config file, in a `--set` relative "
       "to the working directory. Empty = a fresh initialisation from `run.seed`.",
       EDGESIM_FIELD(model.init_from, v), any()},
      {"algorithm.name", Type::kString, "\"fedavg\"",
       "Algorithm: one of `edgesim algorithms` (docs/ALGORITHMS.md describes each, with what is reconstructed).",
       EDGESIM_FIELD(algorithm.name, v), any()},
      {"algorithm.schedule", Type::kString, "\"auto\"",
       "When devices start and updates merge: `sync` (rounds), `async` (`concurrency` devices always training, "
       "every update applied as it arrives or buffered), `semi_async` (aggregate as soon as "
       "ceil(`semi_async_fraction` x participants) updates have arrived; the others keep training and arrive "
       "stale), `ssp` (stale-synchronous: every device trains continuously, each update applied on arrival, a "
       "device more than `staleness_bound` iterations ahead of the slowest waits), or `auto` = the algorithm's own. "
       "Any algorithm runs under any schedule.",
       EDGESIM_FIELD(algorithm.schedule, v), one_of({"auto", "sync", "async", "semi_async", "ssp"})},
      {"algorithm.semi_async_fraction", Type::kFloat, "0.5",
       "[choice] `semi_async`: the share ρ of the participants whose updates trigger an aggregation (K = ceil(ρ·N)).",
       EDGESIM_FIELD(algorithm.semi_async_fraction, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.moon_mu", Type::kFloat, "1.0", "MOON: weight μ of the model-contrastive term (MOON's default 1).",
       EDGESIM_FIELD(algorithm.moon_mu, to_float(v)), at_least(0)},
      {"algorithm.moon_tau", Type::kFloat, "0.5", "MOON: temperature τ of the cosine similarities (MOON's 0.5).",
       EDGESIM_FIELD(algorithm.moon_tau, to_float(v)), greater_than(0)},
      {"algorithm.msfusion_max_split", Type::kFloat, "0.5",
       "[choice] MSfusion: the largest split μ (share of every layer's units) a participant trains; its μ is its rate "
       "(`algorithm.rates` or `rate_rule`) capped at this, so nobody trains the whole model.",
       EDGESIM_FIELD(algorithm.msfusion_max_split, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.msfusion_gap", Type::kFloat, "0.0",
       "[choice] MSfusion: the gap between consecutive participants' window starts, as a share of the width; 0 = 1/N "
       "(the windows of one round cover every unit when μ ≥ 1/N).",
       EDGESIM_FIELD(algorithm.msfusion_gap, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x >= 0 && x <= 1 ? "" : "must be in [0, 1]"; }},
      {"algorithm.msfusion_shift", Type::kInt, "1",
       "[choice] MSfusion: the inter-round shift ζ of every window, in units per round (0 = no shift, an ablation).",
       EDGESIM_FIELD(algorithm.msfusion_shift, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.msfusion_overlap", Type::kString, "\"adaptive\"",
       "[choice] MSfusion: `adaptive` (the overlap level h moves by `msfusion_overlap_step` each round: up when the "
       "peers' models drifted apart more than the round before, down when they agree more) or `fixed` (h = "
       "`msfusion_overlap_level`). A window is gap + h·(μ − gap) of the width.",
       EDGESIM_FIELD(algorithm.msfusion_overlap, v), one_of({"adaptive", "fixed"})},
      {"algorithm.msfusion_overlap_level", Type::kFloat, "1.0",
       "[choice] MSfusion: the overlap level h in [0, 1] (fixed: throughout; adaptive: in round 1).",
       EDGESIM_FIELD(algorithm.msfusion_overlap_level, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x >= 0 && x <= 1 ? "" : "must be in [0, 1]"; }},
      {"algorithm.msfusion_overlap_step", Type::kFloat, "0.1", "[choice] MSfusion, adaptive overlap: the step of h.",
       EDGESIM_FIELD(algorithm.msfusion_overlap_step, to_float(v)), at_least(0)},
      {"algorithm.msfusion_overlap_min", Type::kFloat, "0.0", "[choice] MSfusion, adaptive overlap: the lowest h.",
       EDGESIM_FIELD(algorithm.msfusion_overlap_min, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x >= 0 && x <= 1 ? "" : "must be in [0, 1]"; }},
      {"algorithm.msfusion_contrastive_weight", Type::kFloat, "1.0",
       "[choice] MSfusion: weight λ of the MOON-form contrastive term (positive: the received aggregated split; "
       "negative: the participant's previous split); 0 = plain SGD (an ablation).",
       EDGESIM_FIELD(algorithm.msfusion_contrastive_weight, to_float(v)), at_least(0)},
      {"algorithm.msfusion_tau", Type::kFloat, "0.5", "[choice] MSfusion: temperature τ of the contrastive term.",
       EDGESIM_FIELD(algorithm.msfusion_tau, to_float(v)), greater_than(0)},
      {"algorithm.msfusion_representation", Type::kInt, "1",
       "[choice] MSfusion: which layer's output the contrastive term compares, counted back from the classifier in "
       "the model's layer list: 1 = the classifier's input (MOON's projection-free variant); k = the output of the "
       "layer k places before it.",
       EDGESIM_FIELD(algorithm.msfusion_representation, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.fraction", Type::kFloat, "1.0", "Share of devices selected each round (at least one).",
       EDGESIM_FIELD(algorithm.fraction, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.local_epochs", Type::kInt, "1", "Passes over the device's data per task.",
       EDGESIM_FIELD(algorithm.local_epochs, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.batch_size", Type::kInt, "32", "Local mini-batch size.",
       EDGESIM_FIELD(algorithm.batch_size, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.lr", Type::kFloat, "0.05", "Local SGD learning rate.", EDGESIM_FIELD(algorithm.lr, to_float(v)), greater_than(0)},
      {"algorithm.momentum", Type::kFloat, "0.9", "Local SGD momentum (state reset every task, as in FedAvg).",
       EDGESIM_FIELD(algorithm.momentum, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x >= 0 && x < 1 ? "" : "must be in [0, 1)"; }},
      {"algorithm.weight_decay", Type::kFloat, "0.0", "Local SGD weight decay.",
       EDGESIM_FIELD(algorithm.weight_decay, to_float(v)), at_least(0)},
      {"algorithm.straggler", Type::kString, "\"wait_all\"",
       "`wait_all`: a round ends when its last update arrives. `deadline`: it ends at `deadline_s` and later updates are dropped.",
       EDGESIM_FIELD(algorithm.straggler, v), one_of({"wait_all", "deadline"})},
      {"algorithm.deadline_s", Type::kFloat, "0.0", "Round deadline in virtual seconds (required with `straggler = \"deadline\"`).",
       EDGESIM_FIELD(algorithm.deadline_s, to_float(v)), at_least(0)},
      {"algorithm.weighting", Type::kString, "\"auto\"",
       "How updates are weighted in the merge: `samples` (local sample counts), `uniform` (each device that holds a "
       "parameter counts once), or `auto` = the algorithm's published rule (FedAvg: samples; HeteroFL, FedRolex: "
       "uniform; FjORD: samples).",
       EDGESIM_FIELD(algorithm.weighting, v), one_of({"auto", "samples", "uniform"})},
      {"algorithm.rates", Type::kString, "\"\"",
       "Width-scaled algorithms: each device's rate, comma-separated, cycled over the devices (e.g. \"1,0.5,0.25\"); "
       "empty = derived by `algorithm.rate_rule`.",
       EDGESIM_FIELD(algorithm.rates, v), any()},
      {"algorithm.rate_rule", Type::kString, "\"memory\"",
       "[choice] Deriving a device's rate: the largest of `algorithm.rate_levels` whose training footprint fits its "
       "memory cap (`memory`), and also whose compute r²·slowdown is at most the reference device's full-model "
       "compute (`memory_and_speed`).",
       EDGESIM_FIELD(algorithm.rate_rule, v), one_of({"memory", "memory_and_speed"})},
      {"algorithm.rate_levels", Type::kString, "\"1,0.5,0.25,0.125,0.0625\"",
       "The rates a device may get (HeteroFL's levels a-e), comma-separated.",
       EDGESIM_FIELD(algorithm.rate_levels, v), any()},
      {"algorithm.rate_memory_margin", Type::kFloat, "0.8",
       "[choice] With `rate_rule`: a rate fits a device when its estimated footprint is at most this share of the "
       "memory cap. Measured peaks run up to ~1.16x the estimate (docs/PERFORMANCE.md), and an enforced cap fails "
       "tasks that cross it.",
       EDGESIM_FIELD(algorithm.rate_memory_margin, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.slicing", Type::kString, "\"width\"",
       "HeteroFL: what a device's rate r shrinks. `width`: the first ceil(r·C) units of every hidden group. "
       "`depth`: the first ceil(r·B) of the model's B blocks at full width, ending with the last one's early-exit "
       "head (as in DepthFL, Kim et al. 2023; needs `model.early_exits`). `width_and_depth`: both. /width_eval "
       "then evaluates the global model cut the same way at each rate.",
       EDGESIM_FIELD(algorithm.slicing, v), one_of({"width", "depth", "width_and_depth"})},
      {"algorithm.concurrency", Type::kInt, "0",
       "Asynchronous algorithms: devices training at once (0 = all). A freed slot goes to an idle device drawn "
       "uniformly.",
       EDGESIM_FIELD(algorithm.concurrency, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.async_alpha", Type::kFloat, "0.6", "FedAsync: mixing weight α of an update (times s(staleness)).",
       EDGESIM_FIELD(algorithm.async_alpha, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.staleness", Type::kString, "\"polynomial\"",
       "Asynchronous algorithms: staleness function s(τ): `constant` (1), `polynomial` ((τ+1)^-a), `hinge` "
       "(1 if τ <= b, else 1/(a(τ-b)+1)) (FedAsync's three).",
       EDGESIM_FIELD(algorithm.staleness, v), one_of({"constant", "polynomial", "hinge"})},
      {"algorithm.staleness_a", Type::kFloat, "0.5", "Staleness function parameter a.",
       EDGESIM_FIELD(algorithm.staleness_a, to_float(v)), at_least(0)},
      {"algorithm.staleness_b", Type::kFloat, "4", "Staleness function parameter b (hinge).",
       EDGESIM_FIELD(algorithm.staleness_b, to_float(v)), at_least(0)},
      {"algorithm.buffer_size", Type::kInt, "10", "FedBuff: updates buffered per aggregation (K).",
       EDGESIM_FIELD(algorithm.buffer_size, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.server_lr", Type::kFloat, "1.0", "FedBuff: server learning rate η applied to the mean buffered delta.",
       EDGESIM_FIELD(algorithm.server_lr, to_float(v)), greater_than(0)},
      {"algorithm.masked_ce", Type::kBool, "false",
       "HeteroFL, FedRolex, FjORD: masked cross-entropy — during local training the logits of classes (tokens) absent "
       "from the device's data are zeroed, as HeteroFL's code does with `label_split`.",
       EDGESIM_FIELD(algorithm.masked_ce, v == "true"), any()},
      {"algorithm.label_split_merge", Type::kString, "\"auto\"",
       "HeteroFL, FedRolex, FjORD: the merge averages the output layer's row of class c (weight row and bias entry; "
       "every early-exit head's too; a language model's tied embedding row of token c) only over the updates whose "
       "device holds c in its local data, as HeteroFL's and FedRolex's code do (`label_split` in `combine`); rows no "
       "update holds keep their value. `on`, `off`, or `auto` = the algorithm's published rule (HeteroFL, FedRolex: "
       "on; FjORD: off).",
       EDGESIM_FIELD(algorithm.label_split_merge, v), one_of({"auto", "on", "off"})},
      {"algorithm.bn_statistics", Type::kString, "\"auto\"",
       "BatchNorm statistics the global model (and each per-rate cut, /width_eval) is evaluated with: `model` = its own "
       "(running statistics; with `model.static_bn`, each test batch's), `training_pass` = re-estimated first by a "
       "forward pass over `bn_stats_samples` training samples (cumulative average, as HeteroFL's `stats` pass; the "
       "evaluator's work, charged to no device), or `auto` = the algorithm's published rule (HeteroFL: "
       "training_pass; the others, FedRolex included: model). Models without BatchNorm are unaffected.",
       EDGESIM_FIELD(algorithm.bn_statistics, v), one_of({"auto", "model", "training_pass"})},
      {"algorithm.bn_stats_samples", Type::kInt, "2000",
       "[choice] `bn_statistics = \"training_pass\"`: training samples the pass runs, drawn without replacement from "
       "the union of the devices' data at every evaluation (stream (seed, bn_statistics, round)), in batches of "
       "`batch_size`; 0 = all of them, in order (HeteroFL's code uses the whole training set).",
       EDGESIM_FIELD(algorithm.bn_stats_samples, to_int(v)), at_least(0)},
      {"algorithm.fjord_distillation", Type::kBool, "false",
       "FjORD: self-distillation — each step also trains the device's full submodel (p_max) on the labels, and the "
       "sampled width on KL(p_max output ‖ its output); both passes are charged to the clock.",
       EDGESIM_FIELD(algorithm.fjord_distillation, v == "true"), any()},
      {"algorithm.depthfl_distillation", Type::kBool, "true",
       "DepthFL: mutual self-distillation among the device's classifiers (KL between every ordered pair, the "
       "teacher side detached), as the published code's `kd`.",
       EDGESIM_FIELD(algorithm.depthfl_distillation, v == "true"), any()},
      {"algorithm.depthfl_temperature", Type::kFloat, "1.0",
       "DepthFL: distillation temperature T (the published code's 1); the KL term is scaled by T².",
       EDGESIM_FIELD(algorithm.depthfl_temperature, to_float(v)), greater_than(0)},
      {"algorithm.depthfl_ramp_rounds", Type::kInt, "300",
       "DepthFL: the distillation weight ramps up as exp(-5(1 - t/R)²) over the first R rounds (t = round - 1), "
       "then stays 1 (the published code's R = 300); 0 = weight 1 from the start.",
       EDGESIM_FIELD(algorithm.depthfl_ramp_rounds, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.co_s2p_gamma", Type::kFloat, "0.5",
       "Co-S²P: weight γ of each shallower exit's distillation term towards the device's deepest exit (the "
       "authors' code: 0.5); the term is γ·T²·KL.",
       EDGESIM_FIELD(algorithm.co_s2p_gamma, to_float(v)), at_least(0)},
      {"algorithm.co_s2p_temperature", Type::kFloat, "3.0",
       "Co-S²P: distillation temperature T (the authors' code: 3).",
       EDGESIM_FIELD(algorithm.co_s2p_temperature, to_float(v)), greater_than(0)},
      {"algorithm.co_s2p_distill_from", Type::kInt, "10",
       "Co-S²P: the first round (global version + 1 at a task's start) whose tasks add the distillation terms; "
       "before it only the exits' cross-entropies (the authors' code: round 10). A very large value switches "
       "cross-block transfer off.",
       EDGESIM_FIELD(algorithm.co_s2p_distill_from, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.co_s2p_width", Type::kString, "\"learned\"",
       "Co-S²P: a device's width inside its depth prefix: `learned` — the authors' data-aware masks: the "
       "device learns which heads, MLP units or channels to keep on its own data (weights frozen), then trains the "
       "submodel of those; [choice] `prefix` keeps the first r of every sliceable unit group (the static, "
       "data-blind ablation); `full` keeps every unit (depth pruning only).",
       EDGESIM_FIELD(algorithm.co_s2p_width, v), one_of({"prefix", "full", "learned"})},
      {"algorithm.co_s2p_mask_rounds", Type::kInt, "2",
       "Co-S²P, `co_s2p_width = \"learned\"`: tasks of rounds 1..this learn the device's masks (the authors' "
       "rounds 0-1); later tasks reuse them (a device that has none yet learns them on its first task).",
       EDGESIM_FIELD(algorithm.co_s2p_mask_rounds, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.co_s2p_mask_epochs", Type::kInt, "20",
       "Co-S²P, learned masks: passes over the device's data that train the mask scores (the authors' 20 "
       "sub-epochs); charged to the clock as training passes.",
       EDGESIM_FIELD(algorithm.co_s2p_mask_epochs, static_cast<int>(to_int(v))), at_least(1)},
      {"algorithm.co_s2p_mask_lambda", Type::kFloat, "1.0",
       "Co-S²P, learned masks: weight λ₁ of the |kept share − r| term (the authors' 1).",
       EDGESIM_FIELD(algorithm.co_s2p_mask_lambda, to_float(v)), at_least(0)},
      {"algorithm.co_s2p_mask_lr", Type::kFloat, "0.05",
       "[choice] Co-S²P, learned masks: Adam learning rate of the mask scores.",
       EDGESIM_FIELD(algorithm.co_s2p_mask_lr, to_float(v)), greater_than(0)},
      {"algorithm.co_s2p_window", Type::kInt, "0",
       "[choice] Co-S²P: a rolling window of trainable blocks (0 = off: a device trains its whole prefix). With "
       "W > 0 a device's task in round t ends at the t-th (cyclically) of the head-ending blocks within its depth, "
       "shallowest first, and only its last W blocks (and their exits) train: the blocks before are frozen (run "
       "forward only: no gradients, no optimizer state, no saved activations), so a device's rate (from its "
       "memory cap) may reach deeper blocks. Needs `co_s2p_width = \"prefix\"` or `\"full\"`.",
       EDGESIM_FIELD(algorithm.co_s2p_window, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.feddyn", Type::kBool, "true",
       "DepthFL: FedDyn's dynamic regularisation (Acar et al. 2021), on by default as in the published code: each "
       "device keeps its h_i (per-device state), the server its h.",
       EDGESIM_FIELD(algorithm.feddyn, v == "true"), any()},
      {"algorithm.feddyn_alpha", Type::kFloat, "0.1", "DepthFL with `feddyn`: FedDyn's α (the published code's 0.1).",
       EDGESIM_FIELD(algorithm.feddyn_alpha, to_float(v)), greater_than(0)},
      {"algorithm.staleness_bound", Type::kInt, "3",
       "[choice] `ssp` schedule: the staleness bound s — a device that has finished more than s iterations more than "
       "the slowest participant waits until it catches up (0 = bulk-synchronous).",
       EDGESIM_FIELD(algorithm.staleness_bound, static_cast<int>(to_int(v))), at_least(0)},
      {"algorithm.adaptcl_slack", Type::kFloat, "0.1",
       "[choice] AdaptCL's accuracy/time knob: the target update time is (1 + slack) x the fastest worker's "
       "full-model time. Larger: bigger submodels (accuracy), longer rounds.",
       EDGESIM_FIELD(algorithm.adaptcl_slack, to_float(v)), at_least(0)},
      {"algorithm.adaptcl_gain", Type::kFloat, "0.5",
       "[choice] AdaptCL: keep ← keep x (target / predicted time)^gain each round (0.5 = one exact step when time "
       "∝ keep²; smaller = more damping).",
       EDGESIM_FIELD(algorithm.adaptcl_gain, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.adaptcl_cost_exponent", Type::kFloat, "2.0",
       "[choice] AdaptCL: the learner's cost model, update time ∝ keep^p, used to estimate each worker's full-model "
       "time from a pruned round.",
       EDGESIM_FIELD(algorithm.adaptcl_cost_exponent, to_float(v)), greater_than(0)},
      {"algorithm.adaptcl_keep_min", Type::kFloat, "0.1", "[choice] AdaptCL: smallest keep rate a worker may get.",
       EDGESIM_FIELD(algorithm.adaptcl_keep_min, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.adaptcl_time_ema", Type::kFloat, "0.0",
       "[choice] AdaptCL: smoothing β of each worker's estimated full-model time (0 = last round only; use > 0 with "
       "noisy `measured` clocks).",
       EDGESIM_FIELD(algorithm.adaptcl_time_ema, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x >= 0 && x < 1 ? "" : "must be in [0, 1)"; }},
      {"algorithm.adaptcl_failure_backoff", Type::kFloat, "0.75",
       "[choice] AdaptCL: a worker whose task failed (oom, or cancelled at a deadline) has its keep rate multiplied "
       "by this.",
       EDGESIM_FIELD(algorithm.adaptcl_failure_backoff, to_float(v)),
       [](const std::string& v) { double x = to_float(v); return x > 0 && x <= 1 ? "" : "must be in (0, 1]"; }},
      {"algorithm.adaptcl_importance", Type::kString, "\"bn_gamma\"",
       "AdaptCL's channel importance: `bn_gamma` (|γ| of BatchNorm, Network Slimming; groups without BN use the "
       "L2 norm) or `l2_norm` (filter L2 norm).",
       EDGESIM_FIELD(algorithm.adaptcl_importance, v), one_of({"bn_gamma", "l2_norm"})},
      {"algorithm.adaptcl_bn_l1", Type::kFloat, "1e-4",
       "AdaptCL with `bn_gamma`: λ of the L1 penalty on BatchNorm scales during local training (Network "
       "Slimming's 1e-4).",
       EDGESIM_FIELD(algorithm.adaptcl_bn_l1, to_float(v)), at_least(0)},
      {"pipeline.planner", Type::kString, "\"asteroid\"",
       "Pipeline runs (`algorithm.name = \"asteroid\"`): the plan to run: `asteroid` (the DP over stages, device "
       "groups and shares), or a baseline on the same machinery: `data_parallel` (whole model on every device), "
       "`gpipe` (even layer split, one device per stage), `pipedream` (PipeDream's planner assuming identical "
       "devices), `hetpipe` (hybrid, equal shares inside a stage). See docs/ALGORITHMS.md (Asteroid). An iteration "
       "is `algorithm.batch_size` samples; `run.rounds` iterations.",
       EDGESIM_FIELD(pipeline.planner, v), one_of({"asteroid", "data_parallel", "gpipe", "pipedream", "hetpipe"})},
      {"pipeline.micro_batches", Type::kInt, "0",
       "Pipeline runs: micro-batches M per iteration (must divide `algorithm.batch_size`; micro-batch size = "
       "batch / M); 0 = the planner picks M among the divisors up to `pipeline.max_micro_batches`.",
       EDGESIM_FIELD(pipeline.micro_batches, static_cast<int>(to_int(v))), at_least(0)},
      {"pipeline.max_micro_batches", Type::kInt, "32", "Pipeline runs: the largest M the planner tries.",
       EDGESIM_FIELD(pipeline.max_micro_batches, static_cast<int>(to_int(v))), at_least(1)},
      {"pipeline.max_stages", Type::kInt, "0", "Pipeline runs: the most stages a plan may have (0 = no limit).",
       EDGESIM_FIELD(pipeline.max_stages, static_cast<int>(to_int(v))), at_least(0)},
      {"pipeline.cuts", Type::kString, "\"blocks\"",
       "[choice] Pipeline runs: where stages may be cut: at the model's `blocks` (ResNet/Transformer blocks, VGG "
       "stages, plus stem and head) or between any two `layers`.",
       EDGESIM_FIELD(pipeline.cuts, v), one_of({"blocks", "layers"})},
      {"pipeline.grouping", Type::kString, "\"auto\"",
       "[choice] Pipeline planner's device dimension: `subsets` (every device subset, exact), `sorted_runs` (devices "
       "sorted by memory, each stage a run of that order), `auto` (subsets up to 256 device states).",
       EDGESIM_FIELD(pipeline.grouping, v), one_of({"auto", "subsets", "sorted_runs"})},
      {"pipeline.op_overhead_s", Type::kFloat, "0.0",
       "[choice] Pipeline runs, analytic clock: fixed virtual seconds added to every forward and backward op of a "
       "micro-batch (0 = linear in samples). Not allowed with clock.mode = \"calibrated\", whose compute profile "
       "prices every op (kernel_seconds).",
       EDGESIM_FIELD(pipeline.op_overhead_s, to_float(v)), at_least(0)},
      {"pipeline.faults", Type::kString, "\"\"",
       "[choice] Pipeline runs: the fault schedule, comma-separated `fail:D@T` (device D fails at virtual second T, "
       "noticed by its missed heartbeat after `pipeline.heartbeat_timeout_s`) or `leave:D@T` (D announces its exit, "
       "noticed at once). Recovery: `pipeline.recovery` (docs/ALGORITHMS.md, Asteroid). \"\" = no faults.",
       EDGESIM_FIELD(pipeline.faults, v), any()},
      {"pipeline.heartbeat_timeout_s", Type::kFloat, "0.1",
       "[choice] Pipeline runs: virtual seconds without a heartbeat after which a device counts as failed.",
       EDGESIM_FIELD(pipeline.heartbeat_timeout_s, to_float(v)), at_least(0)},
      {"pipeline.failure_mtbf_s", Type::kFloat, "0.0",
       "[choice] Pipeline runs: random failures. Every device not in `pipeline.faults` fails once, at a virtual time "
       "drawn from an exponential distribution with this mean (memoryless failures at a constant rate), from the "
       "stream (`pipeline.failure_seed`, device). 0 = none.",
       EDGESIM_FIELD(pipeline.failure_mtbf_s, to_float(v)), at_least(0)},
      {"pipeline.failure_seed", Type::kInt, "0",
       "Pipeline runs: seed of the random failures' stream (0 = `run.seed`), so failures can vary with the training fixed.",
       EDGESIM_FIELD(pipeline.failure_seed, static_cast<std::uint64_t>(to_int(v))), at_least(0)},
      {"pipeline.recovery", Type::kString, "\"replay\"",
       "[choice] Pipeline runs with faults: how a lost device is recovered from. `replay`: a stage that keeps "
       "devices re-splits its micro-batch among them; a stage that loses its last device is re-planned over the "
       "survivors (the run's planner, M kept), its weights and momentum restored from the backup on the next "
       "stage's device, and the interrupted iteration replayed. `restart` (the baseline): roll back to the last "
       "checkpoint (`pipeline.checkpoint_every`), re-plan from scratch over the survivors, every device downloads "
       "its stage from the store, and the iterations since the checkpoint run again (docs/ALGORITHMS.md, Asteroid).",
       EDGESIM_FIELD(pipeline.recovery, v), one_of({"replay", "restart"})},
      {"pipeline.backup_every", Type::kInt, "1",
       "[choice] Pipeline runs with faults and `pipeline.recovery = \"replay\"`: every this many iterations each "
       "stage sends its weights and momentum to its backup holder on the next stage (charged on the links after "
       "the iteration; the backup counts in the holder's memory). Runs without faults keep no backup.",
       EDGESIM_FIELD(pipeline.backup_every, static_cast<int>(to_int(v))), at_least(1)},
      {"pipeline.checkpoint_every", Type::kInt, "10",
       "[choice] Pipeline runs with faults and `pipeline.recovery = \"restart\"`: every this many iterations each "
       "stage's first device uploads its stage's weights and momentum to a store over its uplink (charged after "
       "the iteration). Runs without faults take no checkpoint.",
       EDGESIM_FIELD(pipeline.checkpoint_every, static_cast<int>(to_int(v))), at_least(1)},
      {"clock.mode", Type::kString, "\"analytic\"",
       "`analytic`: compute time from FLOPs (deterministic). `calibrated`: from FLOPs, bytes moved and kernels per "
       "op, priced by measured compute profiles (deterministic; docs/CLOCK.md). `measured`: the host's measured step time x slowdown. "
       "`realtime`: measured, and the executor sleeps the difference, so wall-clock time is real (an executor runs its "
       "devices' tasks one after another: for real wall-clock asynchrony, host one device per executor rank).",
       EDGESIM_FIELD(clock.mode, v), one_of({"analytic", "calibrated", "measured", "realtime"})},
      {"clock.profile", Type::kString, "\"\"",
       "`calibrated`: the compute profile (written by `edgesim profile`, see docs/CLOCK.md) that prices the "
       "reference device's work; devices without their own profile take it × their slowdown. Empty = the device "
       "set's `reference.compute_profile`. A relative path is taken relative to the config file, in a `--set` "
       "relative to the working directory.",
       EDGESIM_FIELD(clock.profile, v), any()},
  };
  return keys;
}
#undef EDGESIM_FIELD

const Key* find_key(const std::string& name) {
  for (const auto& k : schema())
    if (k.name == name) return &k;
  return nullptr;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& where, const std::string& key) {
  std::string msg = where + ": unknown key '" + key + "'";
  std::string best;
  std::size_t best_d = 4;
  for (const auto& k : schema()) {
    const std::size_t d = edit_distance(key, k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  if (!best.empty()) msg += " (did you mean '" + best + "'?)";
  return msg + "; every key is listed in docs/CONFIG.md";
}

// A value as given, plus where it came from (for error messages).
struct Setting {
  std::string value;
  std::string origin;
};

// The origin of a key nobody set (the checks below compare origins with "default"); messages
// render it with describe().
const char* const kDefaultOrigin = "default";

std::string quoted(const Key& key, const std::string& value) {
  if (key.type != Type::kString) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Where a value came from, in the words of an error message: "FILE: key 'K'", "--set K=V: key
// 'K'", or for a key left unset "key 'K' (not set; default V)" -- the bare origin would read
// "default: key 'K'", as if "default" were a file.
std::string describe(const std::string& key, const Setting& s) {
  if (s.origin != kDefaultOrigin) return s.origin + ": key '" + key + "'";
  const Key* k = find_key(key);
  return "key '" + key + "' (not set; default " + (k ? quoted(*k, s.value) : s.value) + ")";
}

void check_and_assign(ExperimentConfig& cfg, const Key& key, const Setting& s) {
  const std::string prefix = describe(key.name, s);
  try {
    switch (key.type) {
      case Type::kInt: to_int(s.value); break;
      case Type::kFloat: to_float(s.value); break;
      case Type::kBool:
        if (s.value != "true" && s.value != "false") throw std::invalid_argument(s.value);
        break;
      case Type::kString: break;
    }
  } catch (const std::exception&) {
    const char* expected = key.type == Type::kInt ? "an integer" : key.type == Type::kFloat ? "a number" : "true or false";
    throw InputError(prefix + ": expected " + expected + ", got '" + s.value + "'");
  }
  const std::string why = key.check(s.value);
  if (!why.empty()) throw InputError(prefix + ": " + why + ", got '" + s.value + "'");
  key.assign(cfg, s.value);
}

std::string unquote_default(const std::string& d) {
  return d.size() >= 2 && d.front() == '"' ? d.substr(1, d.size() - 2) : d;
}

// Keys whose default depends on the dataset: a text corpus has a folder of its own and no
// labels to skew by. Only keys left at their default change; the resolved config shows it.
void apply_dataset_defaults(ExperimentConfig& cfg, std::map<std::string, Setting>& settings) {
  if (!cfg.data.text()) return;
  auto default_to = [&](const std::string& key, std::string& field, const std::string& value) {
    if (settings[key].origin == "default") field = settings[key].value = value;
  };
  if (cfg.data.dataset == "fortunes") default_to("data.path", cfg.data.path, kFortunesDir);
  default_to("data.partition", cfg.data.partition, "iid");
}

// model.preset's default names a Transformer size; a ViT left at it gets its laptop size.
void apply_model_defaults(ExperimentConfig& cfg, std::map<std::string, Setting>& settings) {
  if (cfg.model.name == "vit" && settings["model.preset"].origin == "default")
    cfg.model.preset = settings["model.preset"].value = "vit-tiny";
}

// The model must read what the dataset holds: token windows for the Transformer, images for
// the rest. A clash names the key the user set (model.name, unless only data.dataset was).
void check_model_fits_data(const ExperimentConfig& cfg, std::map<std::string, Setting>& settings,
                           const std::function<void(const std::string&, const std::string&)>& fail) {
  const bool language_model = cfg.model.name == "transformer";
  if (language_model != cfg.data.text()) {
    const std::string key = settings["model.name"].origin == "default" ? "data.dataset" : "model.name";
    fail(key, "model.name = \"" + cfg.model.name + "\" is " + (language_model ? "a language model" : "an image model") +
                  " but data.dataset = \"" + cfg.data.dataset + "\" is " + (cfg.data.text() ? "text" : "images") +
                  (language_model ? " (text datasets: \"fortunes\", \"wikitext\")"
                                  : " (text needs model.name = \"transformer\")"));
  }
  if (cfg.data.text() && cfg.data.partition != "iid")
    fail("data.partition", "text has no labels to skew by: only \"iid\" splits token windows among devices");
  const bool vit_preset = cfg.model.preset.rfind("vit-", 0) == 0;
  if (cfg.model.name == "vit" && !vit_preset)
    fail("model.preset", "\"" + cfg.model.preset + "\" is a Transformer size; a ViT's are vit-tiny, vit-small, vit-b16");
  if (cfg.model.name != "vit" && vit_preset)
    fail("model.preset", "\"" + cfg.model.preset + "\" is a ViT size but model.name = \"" + cfg.model.name + "\"");
  if (cfg.model.patch > 0 && cfg.model.name != "vit") fail("model.patch", "only a ViT has patches (model.name = \"vit\")");
  if (!cfg.model.exit_blocks.empty()) {
    if (!cfg.model.early_exits) fail("model.exit_blocks", "names the blocks of early exits: needs model.early_exits = true");
    try {
      parse_exit_blocks(cfg.model.exit_blocks);
    } catch (const std::invalid_argument& e) {
      fail("model.exit_blocks", std::string(e.what()) + " (expected blocks like \"3,6,9\")");
    }
  }
  if (cfg.model.name == "vit") {
    const VitShape v = vit_shape(cfg.model);
    if (v.dim % v.heads != 0)
      fail(settings["model.heads"].origin == "default" ? "model.d_model" : "model.heads",
           std::to_string(v.heads) + " heads do not divide d_model " + std::to_string(v.dim));
  }
  if (!language_model) return;
  const TransformerShape t = transformer_shape(cfg.model, 2);  // the vocabulary plays no part here
  if (t.d_model % t.heads != 0)
    fail(settings["model.heads"].origin == "default" ? "model.d_model" : "model.heads",
         std::to_string(t.heads) + " heads do not divide d_model " + std::to_string(t.d_model));
}

// The algorithm must exist, and every algorithm.* key set to something else than its default
// must be read by the algorithm or its schedule (algo/catalog.hpp keeps the rules).
// Exception: when `renamed` (algorithm.name given with --set over an earlier value: one set of
// options shared by several algorithms, as scripts/reproduce.sh runs them) it only warns.
void check_algorithm_keys(ExperimentConfig& cfg, std::map<std::string, Setting>& settings, bool renamed,
                          const std::function<void(const std::string&, const std::string&)>& fail) {
  const AlgorithmInfo* info = find_algorithm(cfg.algorithm.name);
  if (!info) {
    std::string known, best;
    std::size_t best_d = 4;
    for (const auto& a : algorithm_catalog()) {
      known += (known.empty() ? "" : ", ") + a.name;
      const std::size_t d = edit_distance(cfg.algorithm.name, a.name);
      if (d < best_d) best_d = d, best = a.name;
    }
    fail("algorithm.name", "unknown algorithm '" + cfg.algorithm.name + "'" +
                               (best.empty() ? "" : " (did you mean '" + best + "'?)") + "; known: " + known);
  }
  const std::string schedule = cfg.algorithm.schedule == "auto" ? info->schedule : cfg.algorithm.schedule;
  std::vector<std::string> used = recipe_keys();
  for (const auto& k : info->keys) used.push_back(k);
  for (const auto& k : schedule_keys(schedule)) used.push_back(k);
  for (const auto& k : schema()) {
    if (k.name.rfind("algorithm.", 0) != 0 || std::find(used.begin(), used.end(), k.name) != used.end()) continue;
    if (settings[k.name].value == unquote_default(k.default_value)) continue;
    std::string users;
    for (const auto& a : algorithm_catalog())
      if (std::find(a.keys.begin(), a.keys.end(), k.name) != a.keys.end()) users += (users.empty() ? "" : ", ") + a.name;
    for (const char* s : {"sync", "async", "semi_async", "ssp"}) {
      const auto sk = schedule_keys(s);
      if (std::find(sk.begin(), sk.end(), k.name) != sk.end()) users += (users.empty() ? "the " : ", the ") + std::string(s) + " schedule";
    }
    const std::string why = "is not used by algorithm '" + info->name + "' under the " + schedule +
                            " schedule (used by: " + users + ")";
    if (renamed) {
      cfg.warnings.push_back(settings[k.name].origin + ": key '" + k.name + "' " + why + ": ignored");
      continue;
    }
    fail(k.name, why + "; remove it or change algorithm.name / algorithm.schedule");
  }
  if (info->needs_early_exits && !cfg.model.early_exits)
    fail("model.early_exits", "algorithm '" + info->name + "' trains a classifier after each block: needs model.early_exits = true");
  if (cfg.algorithm.co_s2p_window > 0 && cfg.algorithm.co_s2p_width == "learned")
    fail("algorithm.co_s2p_window", "a rolling window needs algorithm.co_s2p_width = \"prefix\" or \"full\": the "
                                    "learned masks are learned on the device's prefix, not on the deeper blocks it rolls to");
  if (cfg.algorithm.slicing != "width") {
    if (!info->cuts_depth) fail("algorithm.slicing", "algorithm '" + info->name + "' does not cut models in depth");
    if (!cfg.model.early_exits)
      fail("algorithm.slicing", "a model cut in depth ends with an early-exit head: needs model.early_exits = true");
  }
}

// pipeline.* keys are read only by pipeline algorithms (catalog schedule "pipeline"), which run
// under no other schedule and time their ops with the analytic or the calibrated clock.
void check_pipeline_keys(const ExperimentConfig& cfg, const AlgorithmInfo& info, std::map<std::string, Setting>& settings,
                         const std::function<void(const std::string&, const std::string&)>& fail) {
  for (const auto& k : schema()) {
    if (k.name.rfind("pipeline.", 0) != 0 || settings[k.name].value == unquote_default(k.default_value)) continue;
    if (std::find(info.keys.begin(), info.keys.end(), k.name) == info.keys.end())
      fail(k.name, "is not used by algorithm '" + info.name + "' (pipeline keys are read by pipeline algorithms: asteroid)");
  }
  if (info.schedule != "pipeline") return;
  if (cfg.algorithm.schedule != "auto")
    fail("algorithm.schedule", "algorithm '" + info.name + "' runs as a pipeline, not under a federated schedule: leave it \"auto\"");
  if (cfg.clock.mode != "analytic" && cfg.clock.mode != "calibrated")
    fail("clock.mode", "pipeline runs time their ops with the analytic or the calibrated clock (a measured one would "
                       "make planner and clock disagree)");
  if (cfg.clock.mode == "calibrated" && cfg.pipeline.op_overhead_s != 0)
    fail("pipeline.op_overhead_s", "is the analytic clock's per-op cost; with clock.mode = \"calibrated\" the compute "
                                   "profile prices every op (its kernel_seconds): leave it 0");
  try {
    fault_schedule(cfg);
  } catch (const std::invalid_argument& e) {
    fail("pipeline.faults", e.what());
  }
  // Each recovery mode reads its own interval: the other one set is a mistake, not a no-op.
  if (cfg.pipeline.recovery == "restart" && cfg.pipeline.backup_every != 1)
    fail("pipeline.backup_every", "is read with pipeline.recovery = \"replay\" only (restart takes checkpoints: pipeline.checkpoint_every)");
  if (cfg.pipeline.recovery == "replay" && cfg.pipeline.checkpoint_every != 10)
    fail("pipeline.checkpoint_every", "is read with pipeline.recovery = \"restart\" only (replay keeps backups: pipeline.backup_every)");
  const int m = cfg.pipeline.micro_batches;
  if (m > 0 && cfg.algorithm.batch_size % m != 0)
    fail("pipeline.micro_batches", std::to_string(m) + " micro-batches do not divide algorithm.batch_size " +
                                       std::to_string(cfg.algorithm.batch_size));
}

// Checks that need several keys or the file system.
void check_whole(ExperimentConfig& cfg, std::map<std::string, Setting>& settings, bool renamed) {
  auto fail = [&](const std::string& key, const std::string& why) {
    throw InputError(describe(key, settings[key]) + ": " + why);
  };
  check_model_fits_data(cfg, settings, fail);
  if (cfg.algorithm.straggler == "deadline" && cfg.algorithm.deadline_s <= 0)
    fail("algorithm.deadline_s", "must be > 0 when algorithm.straggler = \"deadline\"");
  check_algorithm_keys(cfg, settings, renamed, fail);
  check_pipeline_keys(cfg, *find_algorithm(cfg.algorithm.name), settings, fail);
  for (const char* key : {"algorithm.rates", "algorithm.rate_levels"}) {
    try {
      const auto rates = parse_rate_list(settings[key].value);
      if (rates.empty() && std::string(key) == "algorithm.rate_levels") fail(key, "needs at least one rate");
    } catch (const std::invalid_argument& e) {
      fail(key, std::string(e.what()) + " (expected rates in (0, 1], comma-separated)");
    }
  }
  if (cfg.devices.profiles.empty()) fail("devices.profiles", "is required: the device-set file to use");
  if (!fs::is_regular_file(cfg.devices.profiles))
    fail("devices.profiles", "no such file '" + cfg.devices.profiles + "'");
  if (!cfg.clock.profile.empty() && cfg.clock.mode != "calibrated")
    fail("clock.profile", "is only read with clock.mode = \"calibrated\" (clock.mode is \"" + cfg.clock.mode + "\")");
  if (!cfg.clock.profile.empty() && !fs::is_regular_file(cfg.clock.profile))
    fail("clock.profile", "no such file '" + cfg.clock.profile + "'");
  const std::string& dataset = cfg.data.dataset;
  if (dataset == "synthetic") return;
  std::vector<const char*> files;
  std::string advice;
  if (dataset == "fashion-mnist" || dataset == "fashion-mnist-32") {
    files = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz"};
    advice = "install Debian's dataset-fashion-mnist or set data.path";
  } else if (dataset == "wikitext") {
    files = {"wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"};
    advice = "set data.path to the folder of WikiText-2's (or -103's) wiki.train.tokens, wiki.valid.tokens and "
             "wiki.test.tokens";
    if (settings["data.path"].origin == "default") fail("data.path", "is required with data.dataset = \"wikitext\": " + advice);
  } else {
    if (!fs::is_directory(cfg.data.path))
      fail("data.path", "no such directory '" + cfg.data.path + "'" +
                            (dataset == "fortunes" ? " (install Debian's fortunes package or set data.path)" : ""));
    return;
  }
  for (const char* f : files) {
    const fs::path p = fs::path(cfg.data.path) / f;
    if (!fs::is_regular_file(p)) fail("data.path", "dataset file '" + p.string() + "' not found (" + advice + ")");
  }
}

}  // namespace

std::vector<double> parse_rate_list(const std::string& text) {
  std::vector<double> rates;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    const std::string t = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    double r = 0;
    try {
      r = to_float(t);
    } catch (const std::exception&) {
      throw std::invalid_argument("'" + t + "' is not a number");
    }
    if (!(r > 0 && r <= 1)) throw std::invalid_argument("rate " + t + " is not in (0, 1]");
    rates.push_back(r);
  }
  return rates;
}

// Files a config names relative to itself (in a --set: to the working directory).
static bool is_path_key(const std::string& key) {
  return key == "devices.profiles" || key == "clock.profile" || key == "model.init_from";
}

ExperimentConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::map<std::string, Setting> settings;
  bool renamed = false;  // algorithm.name given with --set over an earlier value
  for (const auto& k : schema()) settings[k.name] = {unquote_default(k.default_value), kDefaultOrigin};

  const fs::path config_dir = fs::absolute(path).parent_path();
  for (const auto& entry : read_toml_file(path)) {
    if (!find_key(entry.key)) throw InputError(unknown_key_message(path, entry.key));
    if (entry.values.size() != 1)
      throw InputError(path + ": key '" + entry.key + "': expected a single value");
    std::string value = entry.values[0];
    if (is_path_key(entry.key) && !value.empty() && fs::path(value).is_relative())
      value = (config_dir / value).lexically_normal().string();
    settings[entry.key] = {value, path};
  }
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string origin = "--set " + o;
    if (eq == std::string::npos) throw InputError(origin + ": expected key=value");
    const std::string key = o.substr(0, eq);
    if (!find_key(key)) throw InputError(unknown_key_message("--set", key));
    std::string value = o.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    if (is_path_key(key) && !value.empty()) value = fs::absolute(value).lexically_normal().string();
    if (key == "algorithm.name" && settings[key].origin != kDefaultOrigin) renamed = true;
    settings[key] = {value, origin};
  }

  ExperimentConfig cfg;
  cfg.source = path;
  for (const auto& k : schema()) check_and_assign(cfg, k, settings[k.name]);
  if (cfg.run.name.empty()) {
    cfg.run.name = fs::path(path).stem().string();
    settings["run.name"].value = cfg.run.name;
  }
  apply_dataset_defaults(cfg, settings);
  apply_model_defaults(cfg, settings);
  check_whole(cfg, settings, renamed);

  std::ostringstream toml;
  std::string section;
  for (const auto& k : schema()) {
    const auto dot = k.name.find('.');
    const std::string sec = k.name.substr(0, dot);
    if (sec != section) toml << (section.empty() ? "" : "\n") << "[" << sec << "]\n", section = sec;
    toml << k.name.substr(dot + 1) << " = " << quoted(k, settings[k.name].value) << "\n";
  }
  cfg.resolved_toml = toml.str();
  return cfg;
}

std::string config_reference_markdown() {
  std::ostringstream md;
  md << "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : schema()) {
    const char* type = k.type == Type::kInt ? "integer" : k.type == Type::kFloat ? "number"
                       : k.type == Type::kBool ? "bool" : "string";
    md << "| `" << k.name << "` | " << type << " | `" << k.default_value << "` | " << k.doc << " |\n";
  }
  return md.str();
}

}  // namespace edgesim
