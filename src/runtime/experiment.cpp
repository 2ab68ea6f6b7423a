#include "edgesim/runtime/experiment.hpp"

#include <numeric>

#include "edgesim/common/error.hpp"
#include "edgesim/data/text.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"

namespace edgesim {
namespace {

// Images by the configured partitioner; token windows iid (the config allows nothing else).
Partition partition_samples(const SampleSet& train, const DataConfig& d, int n, Rng& rng) {
  if (train.text) {
    std::vector<std::int64_t> samples(static_cast<std::size_t>(train.size()));
    std::iota(samples.begin(), samples.end(), 0);
    Partition p;
    p.indices = partition_windows_iid(samples, n, rng);  // deals any ids: sample numbers here
    p.label_histogram.assign(n, {});
    return p;
  }
  const auto& labels = train.images.labels;
  const int k = train.num_classes;
  if (d.partition == "iid") return partition_iid(labels, k, n, rng);
  if (d.partition == "dirichlet") return partition_dirichlet(labels, k, n, d.alpha, rng, d.min_samples_per_device);
  return partition_shards(labels, k, n, d.shards_per_device, rng);
}

}  // namespace

Experiment Experiment::build(const ExperimentConfig& config) {
  Experiment e;
  e.config = config;
  e.device_set = load_device_set(config.devices.profiles);
  if (config.clock.mode == "calibrated") {
    if (!config.clock.profile.empty()) {
      try {
        e.device_set.compute_profiles.push_back(load_compute_profile(config.clock.profile));
      } catch (const InputError& err) {
        throw InputError(config.source + ": key 'clock.profile': " + err.what());
      }
      e.device_set.reference_compute_profile = static_cast<int>(e.device_set.compute_profiles.size()) - 1;
    }
    if (e.device_set.reference_compute_profile < 0)
      for (const DeviceProfile& d : e.device_set.devices)
        if (d.compute_profile < 0)
          throw InputError(config.source + ": key 'clock.mode': \"calibrated\" needs a compute profile for device "
                           "class '" + d.name + "': set clock.profile (e.g. one written by `edgesim profile`) or "
                           "reference.compute_profile in " + config.devices.profiles);
  }
  e.devices = expand_devices(e.device_set, config.devices.count);
  Datasets data = load_datasets(config.data, config.model.seq_len);
  e.train = std::move(data.train);
  e.test = std::move(data.test);
  const std::string unit = e.train.text ? " training windows of model.seq_len + 1 tokens" : " training samples";
  if (e.train.size() < config.devices.count)
    throw InputError(config.source + ": key 'devices.count': " + std::to_string(config.devices.count) +
                     " devices but only " + std::to_string(e.train.size()) + unit);
  if (e.test.size() == 0)
    throw InputError(config.source + ": key 'model.seq_len': the test split of " + config.data.dataset +
                     " is shorter than one window of " + std::to_string(config.model.seq_len) + " + 1 tokens");
  try {
    if (e.train.text) {
      e.model = make_transformer_lm(transformer_shape(config.model, e.train.num_classes), config.model.width);
      if (config.model.early_exits) add_early_exits(e.model, parse_exit_blocks(config.model.exit_blocks));
    } else {
      const ImageSet& images = e.train.images;
      e.model = make_model(config.model, images.channels, images.rows, e.train.num_classes);
    }
  } catch (const std::invalid_argument& err) {
    // The keys' shapes are checked with the config; what needs the data's shape (a ViT's patch
    // against the image size, exits against the blocks) is checked here.
    throw InputError(config.source + ": the model (model.*): " + err.what());
  }
  Rng rng(config.run.seed, Purpose::kPartition);
  e.partition = partition_samples(e.train, config.data, config.devices.count, rng);
  return e;
}

}  // namespace edgesim
