#pragma once
// Everything a run derives from its config, built identically on every rank: the devices,
// the model spec, the datasets and the partition. Nothing here depends on the rank count.
#include <vector>

#include "edgesim/data/idx.hpp"
#include "edgesim/data/partition.hpp"
#include "edgesim/device/profile.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/spec.hpp"

namespace edgesim {

struct Experiment {
  ExperimentConfig config;
  DeviceSet device_set;
  std::vector<DeviceProfile> devices;
  ModelSpec model;
  ImageSet train, test;  // test: loaded here so a bad test file is an input error before the run
  Partition partition;

  static Experiment build(const ExperimentConfig& config);
};

}  // namespace edgesim
