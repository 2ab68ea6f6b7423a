#pragma once
// The start-up summary's account of device rates, for every policy that scales the model per
// device (Algorithm::rate_assignment): the rule, then the rate of each device class (device
// profile name, in order of first appearance). When fixed rates give every device the full
// model, a warning says so: the run is then FedAvg under another name (issue #14).
#include <string>
#include <vector>

#include "edgesim/algo/algorithm.hpp"

namespace edgesim {

struct RateSummary {
  std::vector<std::string> lines;     // printed after the start-up header; empty: no rates
  std::vector<std::string> warnings;  // stderr and the results file's `warnings` attribute
};

RateSummary summarize_rates(const Experiment& experiment, const Algorithm& algorithm);

}  // namespace edgesim
