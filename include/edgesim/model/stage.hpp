#pragma once
// A pipeline stage's module: spec layers [begin, end) of a model as their own SpecNet (only
// their weights), with the tensors that cross its two cuts named. A stage reads every tensor
// produced before `begin` and read at or after it (crossing_tensors, pipeline/layer_profile.hpp:
// the previous stage's output, a residual block's input when the cut is inside the block, the
// model input for the first stage) and hands on every tensor produced before `end` and read
// after it — including those it only relays — or, for the last stage, the model's output.
// Weights are named as in the whole model, so a stage copies its part from a whole model and
// writes it back by name; a tied head's copy of an embedding owned elsewhere maps to that
// embedding's weight.
#include <string>
#include <vector>

#include "edgesim/model/network.hpp"

namespace edgesim {

class StageNet {
 public:
  StageNet(const ModelSpec& spec, int begin, int end);

  // Input tensors in the order of inputs() (for the first stage: {model input}); returns the
  // outputs in the order of outputs().
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs);

  const std::vector<int>& inputs() const { return inputs_; }    // producing layers, -1 = model input
  const std::vector<int>& outputs() const { return outputs_; }  // producing layers
  bool is_last() const { return last_; }
  int begin() const { return begin_; }
  int end() const { return end_; }
  SpecNet& net() { return net_; }

  // Copy this stage's weights (and buffers) from, and back into, a whole model of the same spec.
  void copy_from(const SpecNet& whole);
  void copy_into(SpecNet& whole) const;
  // The whole model's name of each of this stage's parameters, in parameters() order.
  std::vector<std::string> source_names() const;

 private:
  const ModelSpec* spec_;
  int begin_, end_;
  bool last_;
  std::vector<int> inputs_, outputs_;
  SpecNet net_;
};

}  // namespace edgesim
