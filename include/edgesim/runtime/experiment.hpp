#pragma once
// Everything a run derives from its config, built identically on every rank: the devices,
// the model spec, the datasets and the partition. Nothing here depends on the rank count.
// Images feed the image models; a text corpus feeds the Transformer LM as token windows.
#include <vector>

#include "edgesim/data/dataset.hpp"
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
  SampleSet train, test;  // test: loaded here so a bad test file is an input error before the run
  // Sample numbers of train per device. Text has no labels: every label_histogram row is empty.
  Partition partition;

  static Experiment build(const ExperimentConfig& config);
  // Classes of /label_histogram: the image classes, 0 for text.
  int label_classes() const { return train.text ? 0 : train.num_classes; }
};

}  // namespace edgesim
