#include "common.hpp"

namespace edgesim::trainer_detail {

torch::Tensor present_classes(const TrainerInput& in) {
  if (!in.order.options.flag("masked_ce")) return {};
  return torch::zeros({in.global.num_classes})
      .index_fill_(0, std::get<0>(torch::_unique(in.data.y.flatten())), 1.0);
}

torch::Tensor masked_logits(SpecNet& net, const torch::Tensor& x, const torch::Tensor& present) {
  auto z = net->forward(x);
  return present.defined() ? z * present : z;
}

LocalRecipe prepare(SpecNet& net, const TrainerInput& in) {
  net->set_train_scale(in.order.options.number("scale", 1.0));
  net->freeze_layers(static_cast<int>(in.order.options.number("frozen_layers", 0)));
  LocalRecipe recipe = in.recipe;
  recipe.bn_gamma_l1 = in.order.options.number("bn_l1", 0.0);
  return recipe;
}

TrainingShape sgd_shape(const TrainerInput& in) {
  TrainingShape s;
  s.frozen_layers = static_cast<int>(in.order.options.number("frozen_layers", 0));
  return s;
}

std::uint64_t sgd_memory(const TrainerInput& in, TrainingShape shape) {
  std::uint64_t bytes = training_memory(in.arch, in.recipe.batch_size, in.recipe.momentum > 0, shape).total();
  if (in.order.options.flag("masked_ce"))
    bytes += 4ull * in.recipe.batch_size * in.arch.num_classes * (in.arch.token_input ? in.arch.in_h : 1);
  return bytes;
}

ComputeWork local_work(const TrainerInput& in, const TrainingShape& shape) {
  return training_work(in.arch, shape, in.recipe.batch_size, in.data.x.size(0)).scaled(double(in.recipe.epochs));
}

}  // namespace edgesim::trainer_detail
