#include "edgesim/algo/schedule.hpp"

#include "edgesim/common/error.hpp"

namespace edgesim {

std::unique_ptr<Schedule> make_synchronous_schedule(const Experiment& e, Algorithm& a);
std::unique_ptr<Schedule> make_asynchronous_schedule(const Experiment& e, Algorithm& a);
std::unique_ptr<Schedule> make_semi_asynchronous_schedule(const Experiment& e, Algorithm& a);
std::unique_ptr<Schedule> make_stale_synchronous_schedule(const Experiment& e, Algorithm& a);

std::string schedule_name(const Experiment& e, const Algorithm& a) {
  const std::string& s = e.config.algorithm.schedule;
  return s == "auto" ? a.default_schedule() : s;
}

std::unique_ptr<Schedule> make_schedule(const Experiment& e, Algorithm& a) {
  const std::string name = schedule_name(e, a);
  if (name == "sync") return make_synchronous_schedule(e, a);
  if (name == "async") return make_asynchronous_schedule(e, a);
  if (name == "semi_async") return make_semi_asynchronous_schedule(e, a);
  if (name == "ssp") return make_stale_synchronous_schedule(e, a);
  throw InputError(e.config.source + ": key 'algorithm.schedule': unknown schedule '" + name + "'");
}

}  // namespace edgesim
