#pragma once
// HeteroFL's and FedRolex's label-split merge (their code's `label_split` in `combine`: Diao et
// al. ICLR 2021, src/fed.py; Alam et al. NeurIPS 2022, resnet_server.py). The output layer's row
// of class c (weight row and bias entry) is averaged only over the updates whose device holds
// label c in its local data; every other parameter is merged as before, and a row that no update
// holds keeps its global value. A device that never saw class c only pushed c's logit down, and
// averaging that in drags every rare class's row toward "never". The classifiers are every
// logits layer (the model's own and each early-exit head); for a language model, the rows of
// the tied head, i.e. its embedding's, per token the device's windows hold (HeteroFL's
// Transformer masks both its embedding and its decoder rows the same way).
#include <torch/torch.h>

#include <vector>

#include "edgesim/algo/round_rules.hpp"
#include "edgesim/model/classifier_rows.hpp"
#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

// The classes (images) or tokens (text: inputs and targets of its windows) of each device's
// samples in the experiment's partition, ascending.
std::vector<std::vector<std::int64_t>> device_labels(const Experiment& e);

class LabelSplit {
 public:
  LabelSplit(const ModelSpec& model, std::vector<std::vector<std::int64_t>> labels_per_device);
  // One float64 weight per entry of an update of `device`: 0 on a classifier row of a class the
  // device does not hold, else 1. `gather` gives each entry's global position (undefined: the
  // update is the whole model, `global_size` entries).
  torch::Tensor entry_weights(std::int64_t device, const torch::Tensor& gather, std::int64_t global_size) const;

 private:
  std::vector<ClassRows> rows_;
  std::int64_t classes_, first_row_entry_;
  std::vector<torch::Tensor> held_;  // [device]: float64 [classes + 1], entry 0 = "not a class row" = 1
};

// average_updates (algo/round_rules.hpp) with the classifier rows label-split.
void average_updates_label_split(torch::Tensor& global, const std::vector<const TaskResult*>& accepted,
                                 Weighting weighting, const LabelSplit& split);

}  // namespace edgesim
