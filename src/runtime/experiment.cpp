#include "edgesim/runtime/experiment.hpp"

#include "edgesim/common/error.hpp"
#include "edgesim/data/dataset.hpp"
#include "edgesim/model/zoo.hpp"

namespace edgesim {

Experiment Experiment::build(const ExperimentConfig& config) {
  Experiment e;
  e.config = config;
  e.device_set = load_device_set(config.devices.profiles);
  e.devices = expand_devices(e.device_set, config.devices.count);
  e.train = load_image_dataset(config.data, "train");
  e.test = load_image_dataset(config.data, "test");
  if (e.train.count < config.devices.count)
    throw InputError(config.source + ": key 'devices.count': " + std::to_string(config.devices.count) +
                     " devices but only " + std::to_string(e.train.count) + " training samples");
  e.model = make_model(config.model, e.train.channels, e.train.rows, e.train.num_classes);

  Rng rng(config.run.seed, Purpose::kPartition);
  const auto& d = config.data;
  const int n = config.devices.count, k = e.train.num_classes;
  if (d.partition == "iid") e.partition = partition_iid(e.train.labels, k, n, rng);
  else if (d.partition == "dirichlet")
    e.partition = partition_dirichlet(e.train.labels, k, n, d.alpha, rng, d.min_samples_per_device);
  else e.partition = partition_shards(e.train.labels, k, n, d.shards_per_device, rng);
  return e;
}

}  // namespace edgesim
