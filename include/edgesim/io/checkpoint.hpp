#pragma once
// The coordinator's state after a finished round, enough to continue the run as if it had
// never stopped: the round, the virtual clock, the global model, the algorithm's own state
// and the resolved config (a resume with a different config is refused). Random streams
// need no saving: every draw is keyed by (seed, purpose, device, round). The tasks
// in flight, the global models they started from and the per-device state are saved too
// (taken right after an aggregation), so a resumed run retrains exactly them.
//
// Written atomically — to PATH.tmp, fsync'd, then renamed over PATH — so a kill at any
// moment leaves either the previous checkpoint or the new one, never a torn file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edgesim {

struct Checkpoint {
  std::string config_toml;
  std::int64_t round = 0;  // last finished round
  double virtual_time_s = 0, wall_time_s = 0;
  double final_accuracy = 0, best_accuracy = 0;
  double training_s = 0;  // Σ compute_s of the recorded tasks (resource utilisation)
  std::vector<float> weights;
  std::string algorithm_state;  // opaque bytes owned by the policy

  // The event loop's state (runtime/event_loop.hpp) right after that aggregation.
  struct InFlight {
    std::int64_t dispatch = 0, device = 0, version = 0;  // version: the global model it started from
    std::int64_t stream = 0, clock_round = 0;             // the task's random streams and slowdown round
    double start_s = 0, end_s = 0;                       // end_s: charged once trained
    bool trained = false;                                // its result was in (retrain it on resume)
    std::string plan;                                    // its TaskPlan, as the runtime encodes it
  };
  std::int64_t dispatched = 0, version = 0;
  std::vector<InFlight> in_flight;
  std::vector<std::pair<std::int64_t, std::vector<float>>> start_models;  // (version, weights)
  std::string schedule_state;                                             // opaque, the schedule's
  double timer_s = -1;                                                    // < 0: none set
  struct DeviceTensor {
    std::int64_t device = 0;
    std::string name;
    std::vector<float> values;
  };
  std::vector<DeviceTensor> device_state;  // per-device state, by device then name
};

void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// nullopt when there is no file; InputError naming the file and offset when it is corrupt.
std::optional<Checkpoint> load_checkpoint(const std::string& path);

}  // namespace edgesim
