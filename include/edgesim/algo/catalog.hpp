#pragma once
// What the config needs to know of each algorithm, kept with the algorithms (torch-free, so the
// config can check a whole experiment before anything runs): its name, the schedule it runs
// under by default, the `algorithm.*` keys it reads, and whether it can cut models in depth.
// A key that neither the algorithm nor its schedule reads is an error when set to anything
// but its default (io/config.cpp), so an option that would be ignored never is silently.
#include <string>
#include <vector>

namespace edgesim {

struct AlgorithmInfo {
  std::string name, summary;
  std::string schedule;           // "sync" | "async" | "semi_async" | "ssp"; "pipeline": not federated rounds
                                  // but one model over all devices (app/pipeline_run.hpp), reading pipeline.* keys
  std::vector<std::string> keys;  // algorithm.* (and pipeline.*) keys it reads (besides the local recipe's)
  bool cuts_depth = false;        // accepts algorithm.slicing other than "width"
  bool needs_early_exits = false; // trains early-exit heads (model.early_exits must be on)
};

const std::vector<AlgorithmInfo>& algorithm_catalog();
const AlgorithmInfo* find_algorithm(const std::string& name);

// The algorithm.* keys a schedule reads; and those every algorithm reads (the local recipe, and
// the evaluation's BatchNorm rule).
std::vector<std::string> schedule_keys(const std::string& schedule);
const std::vector<std::string>& recipe_keys();

}  // namespace edgesim
