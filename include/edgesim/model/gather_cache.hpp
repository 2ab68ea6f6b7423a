#pragma once
// Gather indices by submodel (kept units, depth and extra exit heads): static specs (HeteroFL, FjORD) are
// computed once; rolling ones (FedRolex) change every round, so the cache is bounded.
#include <map>
#include <utility>

#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {

class GatherCache {
 public:
  const torch::Tensor& get(const ModelSpec& model, const SubmodelSpec& sub) {
    Key key{sub.kept, {sub.depth, sub.exits}};
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (cache_.size() >= 64) cache_.clear();
    return cache_.emplace(std::move(key), gather_tensor(gather_index(model, sub))).first->second;
  }

 private:
  using Key = std::pair<std::vector<std::vector<std::int64_t>>, std::pair<int, std::vector<std::int32_t>>>;
  std::map<Key, torch::Tensor> cache_;
};

}  // namespace edgesim
