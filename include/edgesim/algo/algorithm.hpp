#pragma once
// An algorithm is a policy: which devices train, which part of the model each trains with which
// local trainer (trainer/trainer.hpp), and how a set of finished updates merges into the global
// model. *When* devices start and when updates merge is a schedule (algo/schedule.hpp:
// synchronous rounds, asynchronous, semi-asynchronous) that any policy can run under. The loop
// that applies events in virtual time, the clock, evaluation and results are the runtime's.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgesim/device/transfer.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

// What one device task is: the part of the model, the trainer and its options, and the traffic.
struct TaskPlan {
  std::optional<SubmodelSpec> submodel;  // nullopt = the whole model
  std::string trainer = "sgd";
  TrainerOptions options;
  // The task's transfers before and after training; empty = the (sub)model from the server and
  // the update back to it (a star). Serverless algorithms list peer-to-peer transfers here.
  std::vector<Transfer> downloads, uploads;
  // The lists above are the task's whole traffic even when empty (a peer that already holds
  // what it needs downloads nothing): no server is involved.
  bool serverless = false;
};

// How rank 0 evaluates the global model (runtime/evaluation.hpp): what the policy's paper or
// code does. `algorithm.bn_statistics` other than "auto" overrides the BatchNorm choice.
enum class BnStatistics {
  kModel,         // the model's own: its running statistics, or each test batch's (static BN)
  kTrainingPass,  // re-estimated first on a sample of training data (HeteroFL's `stats` pass)
};
struct EvaluationRule {
  BnStatistics bn_statistics = BnStatistics::kModel;
  // Empty: the model's own classifier. Otherwise the mean of the logits of the classifiers
  // after these blocks (1-based, ascending; the last block's is the model's own), as DepthFL
  // predicts; each of them alone is then also reported, as an evaluation rate.
  std::vector<int> average_exits;
};

// The rate each device trains at (the share of the model's width or depth), for the start-up
// summary of the width/depth-scaling policies: which rule produced the rates, and whether they
// stay fixed for the run (AdaptCL learns its own from observed times).
struct RateAssignment {
  std::string rule;           // e.g. `algorithm.rate_rule = "memory"`: what it compares
  std::vector<double> rates;  // per device
  bool fixed = true;
};

class Algorithm {
 public:
  virtual ~Algorithm() = default;

  // The schedule it runs under when `algorithm.schedule = "auto"`: "sync", "async", "semi_async" or "ssp".
  virtual std::string default_schedule() const { return "sync"; }
  // Asynchronous schedule: OK updates per aggregation (FedBuff's K; 1 = apply each at once).
  virtual int aggregation_size() const { return 1; }

  // Called at the start of every synchronous round with the global model, before select():
  // policies whose submodels depend on the weights (AdaptCL's channel importance) look here.
  virtual void begin_round(const torch::Tensor& global, int round) {}

  // Devices that train in `round` (1-based), ascending (synchronous rounds; the participants of
  // a semi-asynchronous run are select(1)).
  virtual std::vector<int> select(int round) = 0;

  // The task `device` gets; `round` is the synchronous round, or the dispatch number.
  virtual TaskPlan plan(int device, int round) { return {}; }

  // A synchronous round's tasks, in completion order, after the straggler rule has marked the
  // late ones dropped: what policies that learn from observed times (AdaptCL) look at.
  virtual void observe_round(const std::vector<TaskResult>& tasks) {}

  // Merges one aggregation's accepted updates (status ok; synchronous: ascending device order,
  // otherwise arrival order) into `global`. Each carries its submodel's gather index (undefined
  // for the whole model), the global model it started from, its staleness, and the state its
  // trainer returned for the device's next task (Co-S²P's learned masks).
  virtual void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) = 0;

  // Rates (< 1) at which the global model is also evaluated (nested methods report each level
  // in use), and the submodel a rate stands for: by default the prefix of that width.
  virtual std::vector<double> eval_rates() const { return {}; }
  virtual SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const { return prefix_submodel(model, rate); }

  // How its global model is evaluated (the whole model and every evaluation rate).
  virtual EvaluationRule evaluation_rule() const { return {}; }

  // Traffic that gathering the global model for an evaluation takes, when no server holds it
  // (serverless policies: from the participants that hold each part); recorded as `assembly`
  // transfers, off the clock's critical path. Empty: the server has it.
  virtual std::vector<Transfer> assembly_transfers() const { return {}; }

  // How many classifiers' losses the local objective sums (1: one model, one loss). The learning
  // monitor's loss-growth reference is round 0's test loss times this, so that an objective
  // summed over several exits is not taken for a diverging one.
  virtual int objective_terms() const { return 1; }

  // Device rates for the start-up summary; nullopt: every device always trains the whole model.
  virtual std::optional<RateAssignment> rate_assignment() const { return std::nullopt; }

  // State the policy carries between rounds, for checkpoints (FedAvg has none).
  virtual std::string save_state() const { return {}; }
  virtual void load_state(const std::string& state) {}
};

// The policy `algorithm.name` names (algo/registry.cpp); its config rules are algo/catalog.hpp's.
std::unique_ptr<Algorithm> make_algorithm(const Experiment& experiment);

}  // namespace edgesim
