#include "edgesim/algo/fedrolex.hpp"

namespace edgesim {

std::optional<SubmodelSpec> FedRolex::submodel(int device, int round) {
  return rolling_submodel(experiment_.model, rates_.at(device), round - 1);
}

}  // namespace edgesim
