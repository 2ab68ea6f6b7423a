#pragma once
// An algorithm is a policy plugged into the coordinator's round loop. It decides which
// devices train in a round, which part of the model each trains and with which loss, which
// finished tasks count (late or failed ones are dropped), and how the accepted updates are
// merged into the global model. The loop itself (dispatch, clock, evaluation, results) is the runtime's.
#include <memory>
#include <optional>
#include <vector>

#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // Called once at the start of every synchronous round with the global model, before
  // select(): policies whose submodels depend on the weights (AdaptCL's channel importance)
  // look at them here.
  virtual void begin_round(const torch::Tensor& global, int round) {}

  // Devices that train in `round` (1-based), ascending.
  virtual std::vector<int> select(int round) = 0;

  // The part of the model `device` trains in `round`; nullopt = the whole model.
  virtual std::optional<SubmodelSpec> submodel(int device, int round) { return std::nullopt; }

  // FjORD's ordered dropout: the widths (rates of the global model) a local step may train,
  // drawn per step; empty = the whole submodel every step.
  virtual std::vector<double> dropout_rates(int device, int round) { return {}; }

  // Terms added to the device's local loss (AdaptCL's L1 on BatchNorm scales).
  virtual LocalObjective local_objective(int device, int round) { return {}; }

  // `tasks` carry their virtual start/end times and come in completion order (end time, then
  // device). Returns when the round ends and sets
  // status = kDropped on every task whose update will not be merged for lateness.
  virtual double close_round(double round_start, std::vector<TaskResult>& tasks) = 0;

  // Merges the accepted updates (status ok, ascending device order) into `global`. Each
  // carries its submodel's gather index (undefined for the whole model).
  virtual void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) = 0;

  // Rates (< 1) at which the global model is also evaluated (nested methods report each level
  // in use), and the submodel a rate stands for: by default the prefix of that width.
  virtual std::vector<double> eval_rates() const { return {}; }
  virtual SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const { return prefix_submodel(model, rate); }

  // Asynchronous policies (FedAsync, FedBuff): the runtime keeps concurrency() devices
  // training and hands every finished task, in virtual-time order, to apply_async() with the
  // model it started from and its staleness (global versions since then). It returns true
  // when the global model changed: one aggregation, one row of /rounds.
  virtual bool asynchronous() const { return false; }
  virtual int concurrency() const { return 0; }
  virtual bool apply_async(torch::Tensor& global, const TaskResult& task, const torch::Tensor& start,
                           std::int64_t staleness) {
    return false;
  }

  // State the policy carries between rounds, for checkpoints (FedAvg has none).
  virtual std::string save_state() const { return {}; }
  virtual void load_state(const std::string& state) {}
};

std::unique_ptr<Algorithm> make_algorithm(const Experiment& experiment);

}  // namespace edgesim
