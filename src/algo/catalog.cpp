#include "edgesim/algo/catalog.hpp"

namespace edgesim {
namespace {

// Keys of the width-scaled family (device rates and how updates merge); HeteroFL's merge
// (its subclasses) also reads the label-split rule.
std::vector<std::string> with_rates(std::vector<std::string> more, bool label_split = true) {
  std::vector<std::string> keys = {"algorithm.fraction",   "algorithm.weighting",  "algorithm.rates",
                                   "algorithm.rate_rule",  "algorithm.rate_levels", "algorithm.rate_memory_margin",
                                   "algorithm.masked_ce"};
  if (label_split) keys.push_back("algorithm.label_split_merge");
  keys.insert(keys.end(), more.begin(), more.end());
  return keys;
}

}  // namespace

const std::vector<AlgorithmInfo>& algorithm_catalog() {
  static const std::vector<AlgorithmInfo> catalog = {
      {"fedavg", "FedAvg (McMahan et al. 2017)", "sync", {"algorithm.fraction", "algorithm.weighting"}, false},
      {"heterofl", "HeteroFL (Diao et al. 2021)", "sync", with_rates({"algorithm.slicing"}), true},
      {"fedrolex", "FedRolex (Alam et al. 2022)", "sync", with_rates({}), false},
      {"fjord", "FjORD (Horváth et al. 2021)", "sync", with_rates({"algorithm.fjord_distillation"}), false},
      {"moon", "MOON (Li et al. 2021): FedAvg with the model-contrastive local loss", "sync",
       {"algorithm.fraction", "algorithm.weighting", "algorithm.moon_mu", "algorithm.moon_tau"}, false},
      {"depthfl", "DepthFL (Kim et al. 2023): depth-scaled models, mutual self-distillation, FedDyn", "sync",
       with_rates({"algorithm.depthfl_distillation", "algorithm.depthfl_temperature", "algorithm.depthfl_ramp_rounds",
                   "algorithm.feddyn", "algorithm.feddyn_alpha"},
                  false),
       false, true},
      {"ssp", "SSP (Ho et al. 2013): stale-synchronous parallel, each update applied on arrival", "ssp",
       {"algorithm.weighting"}, false},
      {"msfusion", "MSfusion (Xie & Li 2024, reconstructed): serverless double-shifting splits", "sync",
       {"algorithm.fraction", "algorithm.rates", "algorithm.rate_rule", "algorithm.rate_levels",
        "algorithm.rate_memory_margin", "algorithm.msfusion_max_split", "algorithm.msfusion_gap",
        "algorithm.msfusion_shift", "algorithm.msfusion_overlap", "algorithm.msfusion_overlap_level",
        "algorithm.msfusion_overlap_step", "algorithm.msfusion_overlap_min", "algorithm.msfusion_contrastive_weight",
        "algorithm.msfusion_tau", "algorithm.msfusion_representation"},
       false},
      {"adaptcl", "AdaptCL (Zhou et al. 2021, reconstructed)", "sync",
       {"algorithm.fraction", "algorithm.weighting", "algorithm.adaptcl_slack", "algorithm.adaptcl_gain",
        "algorithm.adaptcl_cost_exponent", "algorithm.adaptcl_keep_min", "algorithm.adaptcl_time_ema",
        "algorithm.adaptcl_failure_backoff", "algorithm.adaptcl_importance", "algorithm.adaptcl_bn_l1"},
       false},
      {"co-s2p",
       "Co-S²P (Li et al. 2024): depth-pruned submodels with exits, cross-block transfer, staleness-aware "
       "semi-asynchronous aggregation",
       "semi_async",
       {"algorithm.rates", "algorithm.rate_rule", "algorithm.rate_levels", "algorithm.rate_memory_margin",
        "algorithm.co_s2p_gamma", "algorithm.co_s2p_temperature", "algorithm.co_s2p_distill_from",
        "algorithm.co_s2p_width", "algorithm.co_s2p_mask_rounds", "algorithm.co_s2p_mask_epochs",
        "algorithm.co_s2p_mask_lambda", "algorithm.co_s2p_mask_lr", "algorithm.co_s2p_window"},
       false, true},
      {"fedasync", "FedAsync (Xie et al. 2019)", "async",
       {"algorithm.async_alpha", "algorithm.staleness", "algorithm.staleness_a", "algorithm.staleness_b"}, false},
      // A pipeline, not federated rounds: one model trained by all devices (pipeline/, app/pipeline_run).
      {"asteroid", "Asteroid (Ye et al. 2024, reconstructed): hybrid pipeline parallelism, one model over all devices",
       "pipeline",
       {"pipeline.planner", "pipeline.micro_batches", "pipeline.max_micro_batches", "pipeline.max_stages",
        "pipeline.cuts", "pipeline.grouping", "pipeline.op_overhead_s", "pipeline.faults",
        "pipeline.heartbeat_timeout_s", "pipeline.failure_mtbf_s", "pipeline.failure_seed", "pipeline.recovery",
        "pipeline.backup_every", "pipeline.checkpoint_every"},
       false},
      {"fedbuff", "FedBuff (Nguyen et al. 2022)", "async",
       {"algorithm.buffer_size", "algorithm.server_lr", "algorithm.staleness", "algorithm.staleness_a",
        "algorithm.staleness_b"},
       false},
  };
  return catalog;
}

const AlgorithmInfo* find_algorithm(const std::string& name) {
  for (const auto& a : algorithm_catalog())
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> schedule_keys(const std::string& schedule) {
  if (schedule == "sync") return {"algorithm.straggler", "algorithm.deadline_s"};
  if (schedule == "async") return {"algorithm.concurrency"};
  if (schedule == "semi_async") return {"algorithm.semi_async_fraction"};
  if (schedule == "ssp") return {"algorithm.staleness_bound"};
  return {};
}

const std::vector<std::string>& recipe_keys() {
  static const std::vector<std::string> keys = {"algorithm.name",       "algorithm.schedule", "algorithm.local_epochs",
                                                "algorithm.batch_size", "algorithm.lr",       "algorithm.momentum",
                                                "algorithm.weight_decay", "algorithm.bn_statistics",
                                                "algorithm.bn_stats_samples"};
  return keys;
}

}  // namespace edgesim
