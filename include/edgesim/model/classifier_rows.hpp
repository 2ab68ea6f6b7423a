#pragma once
// Where each class's row of a model's classifiers lies in its flat weight buffer (parameters,
// then buffers: model/network.hpp's layout). The classifiers are the layers that produce logits:
// the model's own output layer and every early-exit head's last layer. A linear classifier
// gives class c one row of its weight and one entry of its bias; a tied language-model head
// gives token c the row of the embedding it reuses (which is also that token's input
// embedding). HeteroFL's and FedRolex's label-split merge (algo/label_split.hpp) averages these
// rows only over the devices that hold class c.
#include <cstdint>
#include <vector>

#include "edgesim/model/spec.hpp"

namespace edgesim {

// One tensor whose rows are classes: class c owns entries [offset + c·row_length, + row_length).
struct ClassRows {
  std::int64_t offset = 0;
  std::int64_t row_length = 0;
};

// Every such tensor of `model`, ascending by offset, each once (exits of a language model share
// the one embedding). Throws std::invalid_argument if a classifier is not laid out by class.
std::vector<ClassRows> classifier_rows(const ModelSpec& model);

}  // namespace edgesim
