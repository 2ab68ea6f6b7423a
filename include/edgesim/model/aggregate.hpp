#pragma once
// Moving weights between the global model and submodels, and merging updates. All on flat
// float32 buffers with a submodel's gather index (model/submodel.hpp):
//   extract:  sub = global[gather]
//   merge:    every global entry becomes the weighted mean of the submodels that cover it;
//             entries nobody trained keep their value (HeteroFL's rule; FedAvg is the case
//             where every device covers everything).
#include <torch/torch.h>

#include <vector>

namespace edgesim {

torch::Tensor gather_tensor(const std::vector<std::int64_t>& gather);  // int64 index tensor
torch::Tensor extract_submodel(const torch::Tensor& global, const torch::Tensor& gather);

class CoverageAverage {
 public:
  explicit CoverageAverage(std::int64_t global_size);
  // Adds one update; an undefined `gather` means the update covers the whole model.
  void add(const torch::Tensor& sub_weights, const torch::Tensor& gather, double weight);
  // The same with a weight per entry of the update (float64, its length): entry i counts
  // weight × entry_weights[i], so an entry weighted 0 leaves the average as if the update had
  // not held it (the label-split merge's classifier rows of classes a device lacks).
  void add(const torch::Tensor& sub_weights, const torch::Tensor& gather, double weight,
           const torch::Tensor& entry_weights);
  // Σ w·x / Σ w where covered (accumulated in float64, in the order added), else `global`.
  torch::Tensor merged(const torch::Tensor& global) const;
  const torch::Tensor& coverage() const { return weight_sum_; }  // Σ w per global entry

 private:
  torch::Tensor sum_, weight_sum_;
};

}  // namespace edgesim
