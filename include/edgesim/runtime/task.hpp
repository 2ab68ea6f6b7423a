#pragma once
// One device task: what the coordinator asks of a device, and what comes back. A task names
// the local trainer that runs it (trainer/trainer.hpp) with that trainer's options, and carries
// named tensors: "weights" (the flat (sub)model the device starts from) and whatever else the
// trainer needs (a previous local model, a teacher). Nothing in it is named after an algorithm.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "edgesim/io/results.hpp"

namespace edgesim {

// A trainer's options: named numbers or lists of numbers (flags are 0/1), in name order so a
// task's message is the same bytes wherever it was made.
class TrainerOptions {
 public:
  TrainerOptions& set(const std::string& name, double v) { return set(name, std::vector<double>{v}); }
  TrainerOptions& set(const std::string& name, std::vector<double> v) {
    values_[name] = std::move(v);
    return *this;
  }
  double number(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    return it == values_.end() || it->second.empty() ? fallback : it->second[0];
  }
  bool flag(const std::string& name) const { return number(name, 0.0) != 0.0; }
  std::vector<double> list(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<double>{} : it->second;
  }
  const std::map<std::string, std::vector<double>>& all() const { return values_; }

 private:
  std::map<std::string, std::vector<double>> values_;
};

// Flat float32 tensors by name (ordered, so messages are reproducible).
using NamedTensors = std::map<std::string, torch::Tensor>;

struct TaskOrder {
  std::int64_t device = 0;
  std::int64_t round = 0;        // the task's random streams (shuffle, dropout): a round or a dispatch number
  std::int64_t clock_round = 0;  // the round whose slowdown the device has (slowdown_schedule); 0 = `round`
  std::int64_t schedule_round() const { return clock_round > 0 ? clock_round : round; }
  std::vector<std::int32_t> units;  // kept units per unit group; empty = the full model
  std::int32_t depth = -1;          // blocks kept (model/submodel.hpp); -1 = the whole model
  std::vector<std::int32_t> exits;  // earlier blocks whose exit heads it also keeps (DepthFL)
  std::string trainer = "sgd";      // trainer/trainer.hpp's registry name
  TrainerOptions options;
  NamedTensors tensors;             // "weights" always; more as the trainer needs
  const torch::Tensor& weights() const { return tensors.at("weights"); }
};

struct TaskResult {
  std::int64_t device = 0, round = 0;
  TaskStatus status = TaskStatus::kOk;  // kOk or kOom from the executor; the policy may drop
  std::int64_t samples = 0;             // samples processed (epochs × local samples)
  std::int64_t local_samples = 0;       // samples the device owns (FedAvg weight)
  std::int64_t memory_bytes = 0;        // training footprint estimate
  std::int64_t peak_memory_bytes = 0;   // measured by the counting allocator (0 if not trained)
  double train_loss = 0;                // mean loss over the task's steps
  double reference_compute_s = 0;       // compute seconds on the reference device
  double flops = 0;                     // training FLOPs of the task (the analytic cost model)
  std::uint64_t bytes_down = 0, bytes_up = 0;
  torch::Tensor weights;                // trained flat model (undefined when oom)
  NamedTensors state;                   // what the trainer keeps for the device's next task
  // Coordinator side, filled when the task is dispatched and timed:
  torch::Tensor gather;  // the submodel's gather index (undefined = full)
  double start_s = 0, end_s = 0, compute_s = 0, download_s = 0, upload_s = 0;
  std::int64_t staleness = 0;
  double rate = 1.0;  // the nominal width of the submodel it trained
  std::int64_t start_version = 0;  // the global model version it started from
  torch::Tensor start_model;       // that global model (shared, never modified in place)
  std::vector<TransferRecord> transfers;  // its downloads and uploads, as timed
};

}  // namespace edgesim
