#include "edgesim/model/classifier_rows.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

namespace edgesim {

std::vector<ClassRows> classifier_rows(const ModelSpec& model) {
  // The layers whose parameters hold the class rows: each logits layer, or for a tied head the
  // embedding it reads.
  std::set<int> owners;
  auto add_logits_layer = [&](int layer) {
    const LayerSpec& l = model.layers.at(layer);
    if (l.kind == LayerKind::kTiedHead) owners.insert(l.tied_to);
    else if (l.kind == LayerKind::kLinear) owners.insert(layer);
    else throw std::invalid_argument("model " + model.name + ": layer '" + l.name + "' makes logits but is not a classifier");
  };
  add_logits_layer(model.output());
  for (const BlockSpec& b : model.blocks)
    if (b.has_exit()) add_logits_layer(b.exit_end - 1);

  std::vector<ClassRows> out;
  std::int64_t offset = 0;
  for (const ParamSpec& p : model.parameters()) {
    std::int64_t numel = 1;
    for (const ParamDim& d : p.dims) numel *= model.extent(d);
    if (owners.count(p.layer)) {
      // Linear weights and biases, and embeddings, all keep the class (token) as their first dim.
      if (p.dims.empty() || model.extent(p.dims[0]) != model.num_classes)
        throw std::invalid_argument("model " + model.name + ": '" + p.name + "' is not laid out by class");
      out.push_back({offset, numel / model.num_classes});
    }
    offset += numel;
  }
  return out;
}

}  // namespace edgesim
