#include "edgesim/app/profile_command.hpp"

#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>

#include "edgesim/common/error.hpp"
#include "edgesim/device/benchmark.hpp"
#include "edgesim/device/compute_profile.hpp"
#include "edgesim/device/profile_fit.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"

namespace edgesim {
namespace {

// The zoo's models as the shipped experiments use them: the CNN on 28×28 grey images, ResNet-18
// and VGG-11 at a laptop width (0.25) on 32×32 colour images, the tiny character Transformer.
struct ZooModel {
  std::string name;
  ModelSpec spec;
};
std::vector<ZooModel> zoo_models() {
  TransformerShape lm = transformer_preset("tiny", 128, 64);
  return {{"cnn", make_cnn(1, 28, 10, 1.0)},
          {"resnet18", make_resnet18(3, 32, 10, 0.25, false)},
          {"vgg11", make_vgg(11, 3, 32, 10, 0.25, false)},
          {"transformer", make_transformer_lm(lm, 1.0)}};
}

ModelSpec at_rate(const ModelSpec& global, double rate) {
  return rate >= 1.0 ? global : submodel_architecture(global, prefix_submodel(global, rate));
}

std::string host_name() {
  char buf[256] = "host";
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

// Layer fits per op class and direction, then a whole-task fit of what they leave out.
ComputeProfile measure_profile(const ProfileCommand& cmd) {
  const std::vector<double> rates = cmd.quick ? std::vector<double>{1.0, 0.3} : std::vector<double>{1.0, 0.6, 0.3, 0.15};
  const std::vector<int> batches = cmd.quick ? std::vector<int>{16} : std::vector<int>{8, 32};
  std::vector<OpTiming> fwd[kOpClasses], bwd[kOpClasses];
  std::size_t layers = 0;
  for (const ZooModel& m : zoo_models())
    for (double r : rates)
      for (int b : batches)
        for (const LayerTiming& t : benchmark_layers(at_rate(m.spec, r), b, cmd.quick ? 0.002 : 0.02)) {
          fwd[int(t.op_class)].push_back({t.work, t.forward_s});
          bwd[int(t.op_class)].push_back({t.work, t.backward_s});
          ++layers;
        }
  ComputeProfile p;
  p.name = cmd.name.empty() ? host_name() : cmd.name;
  p.source = "edgesim profile on " + host_name() + ", " + today() + ", 1 thread, " + std::to_string(layers) +
             " layer timings" + (cmd.quick ? " (quick)" : "");
  for (int c = 0; c < kOpClasses; ++c) {
    if (fwd[c].empty()) throw std::logic_error("profile: no layer of op class " + std::string(op_class_name(OpClass(c))));
    p.forward[c] = fit_op_speed(fwd[c]);
    p.backward[c] = fit_op_speed(bwd[c]);
  }
  std::printf("timed %zu layers; fitting whole tasks\n", layers);
  std::fflush(stdout);

  // Whole tasks: time = α · (the layers' prediction) + steps · step_s + the optimizer's terms.
  std::vector<std::vector<double>> rows;
  std::vector<double> times;
  for (const ZooModel& m : zoo_models())
    for (double r : rates)
      for (int b : batches) {
        const ModelSpec arch = at_rate(m.spec, r);
        const int samples = 4 * b;
        const ComputeWork w = training_work(arch, {}, b, samples);
        const double layer_s = p.seconds(w);  // step and optimizer terms are still 0
        rows.push_back({layer_s, w.steps, w.optimizer_floats, w.optimizer_tensors});
        times.push_back(benchmark_task(arch, b, samples, cmd.quick ? 1 : 3));
      }
  const std::vector<double> x = fit_nonnegative(rows, times);
  const double alpha = x[0] > 0 ? x[0] : 1.0;
  for (int c = 0; c < kOpClasses; ++c)
    for (OpSpeed* s : {&p.forward[c], &p.backward[c]})
      s->s_per_flop *= alpha, s->s_per_byte *= alpha, s->s_per_kernel *= alpha;
  p.step_s = x[1];
  p.s_per_optimizer_float = x[2];
  p.s_per_optimizer_tensor = x[3];
  p.source += ", whole-task factor " + std::to_string(alpha);
  return p;
}

// Predicted vs measured task compute time on widths and batch sizes the fit did not see.
void check_profile(const ComputeProfile& p, const ProfileCommand& cmd) {
  std::ofstream csv(cmd.check);
  if (!csv) throw InputError(cmd.check + ": cannot write");
  csv << "model,rate,batch,samples,flops,measured_s,calibrated_s\n";
  const std::vector<double> rates = cmd.quick ? std::vector<double>{1.0, 0.25} : std::vector<double>{1.0, 0.5, 0.25, 0.125};
  const std::vector<int> batches = cmd.quick ? std::vector<int>{16} : std::vector<int>{16, 64};
  for (const ZooModel& m : zoo_models())
    for (double r : rates)
      for (int b : batches) {
        const ModelSpec arch = at_rate(m.spec, r);
        const int samples = cmd.quick ? 2 * b : 256;
        const double measured = benchmark_task(arch, b, samples, cmd.quick ? 1 : 5);
        const double predicted = p.seconds(training_work(arch, {}, b, samples));
        const double flops = training_flops_per_sample(arch) * samples;
        char line[256];
        std::snprintf(line, sizeof line, "%s,%g,%d,%d,%.6g,%.6g,%.6g\n", m.name.c_str(), r, b, samples, flops, measured,
                      predicted);
        csv << line;
        std::printf("%-12s rate %-5g batch %-3d measured %8.4f s  calibrated %8.4f s  (%+.1f%%)\n", m.name.c_str(), r, b,
                    measured, predicted, 100 * relative_error(predicted, measured));
        std::fflush(stdout);
      }
}

}  // namespace

int run_profile_command(const ProfileCommand& cmd) {
  torch::set_num_threads(1);  // as every rank trains (run.threads = 1)
  torch::manual_seed(1);
  ComputeProfile p;
  if (!cmd.use.empty()) {
    p = load_compute_profile(cmd.use);
  } else {
    p = measure_profile(cmd);
    save_compute_profile(cmd.out, p);
    std::printf("wrote %s\n", cmd.out.c_str());
  }
  if (!cmd.check.empty()) check_profile(p, cmd);
  return 0;
}

}  // namespace edgesim
