#include "edgesim/pipeline/fault_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <stdexcept>

#include "edgesim/common/rng.hpp"
#include "edgesim/pipeline/stage_split.hpp"

namespace edgesim {

namespace {

void sort_faults(std::vector<PipelineFault>& faults) {
  std::stable_sort(faults.begin(), faults.end(), [](const PipelineFault& a, const PipelineFault& b) {
    return a.at_s < b.at_s || (a.at_s == b.at_s && a.device < b.device);
  });
}

}  // namespace

std::vector<PipelineFault> parse_fault_schedule(const std::string& text, int num_devices) {
  std::vector<PipelineFault> out;
  std::set<int> seen;
  std::stringstream all(text);
  std::string item;
  while (std::getline(all, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    const auto colon = item.find(':'), at = item.find('@');
    if (colon == std::string::npos || at == std::string::npos || at < colon)
      throw std::invalid_argument("'" + item + "' is not KIND:DEVICE@SECONDS (e.g. fail:2@0.5)");
    const std::string kind = item.substr(0, colon);
    if (kind != "fail" && kind != "leave") throw std::invalid_argument("'" + item + "': the kind must be fail or leave");
    PipelineFault f;
    f.leave = kind == "leave";
    std::size_t used = 0;
    try {
      const std::string d = item.substr(colon + 1, at - colon - 1), t = item.substr(at + 1);
      f.device = std::stoi(d, &used);
      if (used != d.size()) throw std::invalid_argument("device");
      f.at_s = std::stod(t, &used);
      if (used != t.size()) throw std::invalid_argument("time");
    } catch (const std::exception&) {
      throw std::invalid_argument("'" + item + "': DEVICE must be an integer and SECONDS a number");
    }
    if (f.device < 0 || f.device >= num_devices)
      throw std::invalid_argument("'" + item + "': device " + std::to_string(f.device) + " is not one of the " +
                                  std::to_string(num_devices) + " devices");
    if (!(f.at_s >= 0) || !std::isfinite(f.at_s)) throw std::invalid_argument("'" + item + "': SECONDS must be >= 0");
    if (!seen.insert(f.device).second) throw std::invalid_argument("device " + std::to_string(f.device) + " is listed twice");
    out.push_back(f);
  }
  sort_faults(out);
  return out;
}

std::vector<PipelineFault> with_random_failures(std::vector<PipelineFault> listed, double mtbf_s, std::uint64_t seed,
                                                int num_devices) {
  if (!(mtbf_s >= 0) || !std::isfinite(mtbf_s)) throw std::invalid_argument("the mean time between failures must be >= 0");
  if (mtbf_s == 0) return listed;
  std::set<int> named;
  for (const PipelineFault& f : listed) named.insert(f.device);
  for (int d = 0; d < num_devices; ++d) {
    if (named.count(d)) continue;
    Rng rng(seed, Purpose::kFailure, static_cast<std::uint64_t>(d));
    PipelineFault f;
    f.device = d;
    f.at_s = -mtbf_s * std::log1p(-rng.uniform());  // inverse CDF; uniform() < 1, so finite
    listed.push_back(f);
  }
  sort_faults(listed);
  return listed;
}

std::vector<PipelineFault> fault_schedule(const ExperimentConfig& cfg) {
  const std::uint64_t seed = cfg.pipeline.failure_seed != 0 ? cfg.pipeline.failure_seed : cfg.run.seed;
  return with_random_failures(parse_fault_schedule(cfg.pipeline.faults, cfg.devices.count), cfg.pipeline.failure_mtbf_s,
                              seed, cfg.devices.count);
}

Plan plan_without(const Plan& plan, int device, const LayerProfile& profile, const Fleet& fleet) {
  Plan out = plan;
  for (StagePlan& s : out.stages) {
    const auto it = std::find(s.devices.begin(), s.devices.end(), device);
    if (it == s.devices.end()) continue;
    if (s.devices.size() == 1) {
      out.stages.clear();
      return out;
    }
    s.devices.erase(it);
    std::vector<double> per_sample, fixed;
    for (int d : s.devices) {
      const SplitCost c = fleet.split_cost(profile, d, s.begin, s.end);
      per_sample.push_back(c.per_sample), fixed.push_back(c.fixed);
    }
    s.shares = split_micro_batch(SplitPolicy::kProportional, plan.micro_batch, per_sample,
                                 std::vector<int>(s.devices.size(), plan.micro_batch), fixed);
    return out;
  }
  return out;
}

}  // namespace edgesim
