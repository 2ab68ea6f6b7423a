#include "edgesim/trainer/trainer.hpp"

#include <stdexcept>

namespace edgesim {

const Trainer& sgd_trainer();
const Trainer& ordered_dropout_trainer();
const Trainer& contrastive_trainer();
const Trainer& depthfl_trainer();
const Trainer& cross_block_trainer();

const Trainer& trainer_named(const std::string& name) {
  if (name == "sgd") return sgd_trainer();
  if (name == "ordered_dropout") return ordered_dropout_trainer();
  if (name == "contrastive") return contrastive_trainer();
  if (name == "depthfl") return depthfl_trainer();
  if (name == "cross_block") return cross_block_trainer();
  throw std::invalid_argument("unknown local trainer '" + name + "'");
}

}  // namespace edgesim
