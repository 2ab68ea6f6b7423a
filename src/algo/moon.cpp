#include "edgesim/algo/moon.hpp"

namespace edgesim {

void Moon::configure(int, int, TaskPlan& plan) {
  plan.trainer = "contrastive";
  plan.options.set("mu", experiment_.config.algorithm.moon_mu).set("tau", experiment_.config.algorithm.moon_tau);
}

}  // namespace edgesim
