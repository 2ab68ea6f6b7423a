#pragma once
// DepthFL (Kim et al., ICLR 2023; rules checked against the Flower baseline
// baselines/depthfl/depthfl/{models,client,strategy}.py). Device d of rate r_d trains the first
// ceil(r_d·B) blocks of the model at full width with a classifier after each block level
// (SubmodelSpec::exits; the levels are ceil(r·B) for the configured rates, [choice]); its local
// loss is the sum of its classifiers' cross-entropies plus mutual self-distillation (trainer
// `depthfl`), weighted by exp(−5(1 − t/R)²) in round t + 1 (R = `algorithm.depthfl_ramp_rounds`),
// optionally with FedDyn (`algorithm.feddyn`, α = `feddyn_alpha`). The server averages each
// entry over the devices that hold it (each counts once), then with FedDyn
//   h ← h − α · count/N · (avg − global),   θ ← avg − h/α   (parameters only, covered entries)
// (N = devices). The global model predicts with the mean of its classifiers' logits, up to the
// deepest level in use; each classifier alone is reported at rate level/B (`/width_eval`).
#include "edgesim/algo/fedavg.hpp"

namespace edgesim {

// The distillation weight of round `round` (1-based): exp(−5 (1 − min(round − 1, R)/R)²); R = 0: 1.
double depthfl_distillation_weight(int round, int ramp_rounds);

// FedDyn's server step on a merged model (Acar et al. 2021, as the DepthFL baseline applies it):
// `h` and `merged` updated where count > 0; entries [0, parameters) get the correction.
void feddyn_server_step(torch::Tensor& merged, const torch::Tensor& origin, const torch::Tensor& count,
                        torch::Tensor& h, double alpha, int num_devices, std::int64_t parameters);

class DepthFL : public FedAvg {
 public:
  explicit DepthFL(const Experiment& experiment);
  std::vector<double> eval_rates() const override;  // level/B for every classifier level in use
  std::optional<RateAssignment> rate_assignment() const override;  // the depth rates and their rule
  SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const override;  // that classifier alone
  EvaluationRule evaluation_rule() const override;  // the mean of the classifiers in use
  int objective_terms() const override;             // every classifier's cross-entropy
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
  std::string save_state() const override;  // FedDyn's h
  void load_state(const std::string& state) override;

  // Device d's submodel: its depth with the classifiers of the levels below it.
  SubmodelSpec device_submodel(double rate) const;

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  void configure(int device, int round, TaskPlan& plan) override;
  Weighting published_weighting() const override { return Weighting::kUniform; }

 private:
  std::vector<int> levels_;   // classifier levels (block counts), ascending
  std::vector<double> rates_;  // per device
  torch::Tensor h_;            // FedDyn's server state over the global model (undefined: zero)
};

}  // namespace edgesim
