#pragma once
// FedRolex (Alam et al., NeurIPS 2022): HeteroFL with a rolling window instead of a static
// prefix. In round t (counted from 0, as the published code's `self.rounds`), a device of rate
// r keeps units roll(arange(C), t mod C)[:ceil(r·C)] of every hidden group, so over rounds every
// unit of the global model is trained. Merge: uniform coverage averaging with label-split
// classifier rows (published rule).
#include "edgesim/algo/heterofl.hpp"

namespace edgesim {

class FedRolex : public HeteroFL {
 public:
  using HeteroFL::HeteroFL;
  // The published main_resnet.py evaluates the global model as it is (static BN: each test
  // batch's statistics); HeteroFL's `stats` pass is not called there.
  EvaluationRule evaluation_rule() const override { return {}; }

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
};

}  // namespace edgesim
