#pragma once
// MSfusion (Xie & Li, arXiv 2407.03622): serverless collaborative training of a model no
// participant holds whole. Every rule beyond the abstract is a reconstruction, each a config key
// (docs/ALGORITHMS.md, "MSfusion"):
//   split      participant n trains the double-shifting window of every unit group
//              (algo/msfusion_split.hpp) with its split μ_n (`algorithm.rates`, or the memory
//              rule of the width-scaled methods), capped at `msfusion_max_split` (0.5: nobody
//              trains the whole model); gap `msfusion_gap`, inter-round shift `msfusion_shift`.
//   overlap    a window is gap + h·(μ_n − gap) of the width: h = 1 uses the whole split; the
//              adaptive rule moves h by ±`msfusion_overlap_step` each round, up when the peers'
//              models drifted apart more than in the round before (the dispersion of the
//              updates around their overlap average), down when they agree more; `fixed` keeps
//              h = `msfusion_overlap_level`.
//   loss       MOON's model-contrastive term (trainer `contrastive`): positive = the received
//              (overlap-aggregated) split, negative = the participant's previous split; weight
//              `msfusion_contrastive_weight` (0 = plain SGD), temperature `msfusion_tau`, on the
//              output of the layer `msfusion_representation` places before the classifier.
//   merge      each entry averaged over the participants that trained it (uniform coverage
//              averaging; nobody's entries keep their value).
//   traffic    peer to peer only: a participant fetches the entries of its new window it did
//              not hold from the participant that last held them (the lowest-numbered), and
//              sends its trained window to every peer whose window overlaps it; the
//              coordinator's copy of the union is bookkeeping. Assembling the full model for
//              an evaluation is recorded as `assembly` traffic from the holders.
#include <cstdint>
#include <map>
#include <vector>

#include "edgesim/algo/fedavg.hpp"
#include "edgesim/algo/msfusion_split.hpp"

namespace edgesim {

class MsFusion : public FedAvg {
 public:
  explicit MsFusion(const Experiment& experiment);
  TaskPlan plan(int device, int round) override;
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
  std::vector<Transfer> assembly_transfers() const override;
  // The splits μ (at most msfusion_max_split, so never all 1); adapted per round when the overlap is.
  std::optional<RateAssignment> rate_assignment() const override;
  std::string save_state() const override;
  void load_state(const std::string& state) override;

  double overlap_level() const { return level_; }
  // Participant `device`'s split in `round` (1-based); nullopt when it does not take part.
  std::optional<SubmodelSpec> split(int device, int round);

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override { return split(device, round); }
  void configure(int device, int round, TaskPlan& plan) override;
  Weighting published_weighting() const override { return Weighting::kUniform; }

 private:
  const std::vector<int>& participants(int round);
  std::vector<double> splits_;       // μ per device
  double level_ = 1.0;               // h, for the coming round
  double last_level_ = 1.0;          // h of the last merged round
  double last_dispersion_ = -1;      // the previous round's; < 0: none yet
  std::int64_t last_round_ = 0;      // the last merged round
  // Per entry of the global weights: the lowest-numbered participant of the latest round that
  // trained it (it holds the merged value), or -1: still the seed's initial value, which every
  // participant generates itself.
  std::vector<std::int32_t> holder_;
  std::map<int, std::vector<int>> participants_;  // round -> participants (a small cache)
};

}  // namespace edgesim
