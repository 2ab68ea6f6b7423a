#include "edgesim/algo/adaptcl.hpp"
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/co_s2p.hpp"
#include "edgesim/algo/depthfl.hpp"
#include "edgesim/algo/fedasync.hpp"
#include "edgesim/algo/fedavg.hpp"
#include "edgesim/algo/fedrolex.hpp"
#include "edgesim/algo/fjord.hpp"
#include "edgesim/algo/heterofl.hpp"
#include "edgesim/algo/moon.hpp"
#include "edgesim/algo/ssp.hpp"
#include "edgesim/algo/msfusion.hpp"
#include "edgesim/common/error.hpp"

namespace edgesim {

std::unique_ptr<Algorithm> make_algorithm(const Experiment& experiment) {
  const std::string& name = experiment.config.algorithm.name;
  if (name == "fedavg") return std::make_unique<FedAvg>(experiment);
  if (name == "heterofl") return std::make_unique<HeteroFL>(experiment);
  if (name == "fedrolex") return std::make_unique<FedRolex>(experiment);
  if (name == "fjord") return std::make_unique<FjORD>(experiment);
  if (name == "moon") return std::make_unique<Moon>(experiment);
  if (name == "depthfl") return std::make_unique<DepthFL>(experiment);
  if (name == "ssp") return std::make_unique<Ssp>(experiment);
  if (name == "msfusion") return std::make_unique<MsFusion>(experiment);
  if (name == "co-s2p") return std::make_unique<CoS2P>(experiment);
  if (name == "adaptcl") return std::make_unique<AdaptCL>(experiment);
  if (name == "fedasync") return std::make_unique<FedAsync>(experiment);
  if (name == "fedbuff") return std::make_unique<FedBuff>(experiment);
  throw InputError(experiment.config.source + ": key 'algorithm.name': unknown algorithm '" + name + "'");
}

}  // namespace edgesim
