#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/fedavg.hpp"
#include "edgesim/common/error.hpp"

namespace edgesim {

std::unique_ptr<Algorithm> make_algorithm(const Experiment& experiment) {
  const std::string& name = experiment.config.algorithm.name;
  if (name == "fedavg") return std::make_unique<FedAvg>(experiment);
  throw InputError(experiment.config.source + ": key 'algorithm.name': unknown algorithm '" + name + "'");
}

}  // namespace edgesim
