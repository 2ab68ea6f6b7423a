// The calibrated clock's pieces: the work a step does, the profile file, and the fit.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "edgesim/common/rng.hpp"
#include "edgesim/device/compute_profile.hpp"
#include "edgesim/device/compute_work.hpp"
#include "edgesim/device/profile.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/device/profile_fit.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"
#include "test_support.hpp"

using namespace edgesim;
using edgesim::test_support::input_error_of;
using edgesim::test_support::TempDir;

TEST_CASE("a conv layer's work: FLOPs of the cost model, bytes of its input, output and weights", "[compute_work]") {
  ModelSpec s;
  SpecBuilder b(s, 4, 10, 10);
  const int conv = b.conv(b.group("c", 8), 3, 1, 1);
  const OpWork w = layer_work(s, conv, 2);
  CHECK(w.flops == 2 * 800.0 * 73.0);
  // Per sample: 4·10·10 input floats, 8·10·10 output floats; weights 8·4·9 + 8 once per step.
  CHECK(w.bytes == 4.0 * (400 + 800) * 2 + 4.0 * (8 * 4 * 9 + 8));
  CHECK(w.kernels == 1);
  CHECK(w.positions == 2 * 100.0);  // batch × output pixels, whatever the channel count
  const int relu = b.relu();
  CHECK(layer_work(s, relu, 2).flops == 800.0 * 2);  // element-wise: one FLOP per output element
}

TEST_CASE("a step runs every layer forward, the trainable ones backward, and the optimizer", "[compute_work]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const ComputeWork full = training_step_work(cnn, {}, 32);
  double fwd_flops = 0, bwd_flops = 0;
  for (int c = 0; c < kOpClasses; ++c) fwd_flops += full.forward[c].flops, bwd_flops += full.backward[c].flops;
  CHECK(fwd_flops == Approx(bwd_flops));
  CHECK(full.steps == 1);
  CHECK(full.optimizer_floats == double(cnn.parameter_count()));
  // Frozen prefix: no backward and no update for those layers.
  TrainingShape frozen;
  frozen.frozen_layers = 3;
  const ComputeWork f = training_step_work(cnn, frozen, 32);
  CHECK(f.backward[int(OpClass::kConv)].flops < full.backward[int(OpClass::kConv)].flops);
  CHECK(f.forward[int(OpClass::kConv)].flops == full.forward[int(OpClass::kConv)].flops);
  CHECK(f.optimizer_floats < full.optimizer_floats);
  // A no-grad pass (a teacher) adds forward work only.
  TrainingShape teacher;
  teacher.no_grad_passes = 1;
  const ComputeWork t = training_step_work(cnn, teacher, 32);
  CHECK(t.forward[int(OpClass::kConv)].flops == 2 * full.forward[int(OpClass::kConv)].flops);
  CHECK(t.backward[int(OpClass::kConv)].flops == full.backward[int(OpClass::kConv)].flops);
}

TEST_CASE("a task is its full batches plus the last partial one", "[compute_work]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 0.5);
  const ComputeWork task = training_work(cnn, {}, 32, 70);  // 32 + 32 + 6
  ComputeWork by_hand = training_step_work(cnn, {}, 32).scaled(2);
  by_hand += training_step_work(cnn, {}, 6);
  CHECK(task.steps == 3);
  for (int c = 0; c < kOpClasses; ++c) {
    CHECK(task.forward[c].bytes == Approx(by_hand.forward[c].bytes));
    CHECK(task.backward[c].kernels == by_hand.backward[c].kernels);
  }
}

TEST_CASE("a task's set-up is its network's parameters built and loaded, once", "[compute_work]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 0.5);
  const ComputeWork w = task_setup_work(cnn);
  CHECK(w.tasks == 1);
  CHECK(w.setup_floats == double(cnn.parameter_count()));
  CHECK(w.setup_tensors == double(cnn.parameters().size()));
  CHECK(w.steps == 0);
  // It does not depend on how much the task trains: training_work carries none of it.
  CHECK(training_work(cnn, {}, 32, 640).tasks == 0);
}

namespace {
ComputeProfile example_profile() {
  ComputeProfile p;
  p.name = "example";
  p.source = "hand-set for the test";
  for (int c = 0; c < kOpClasses; ++c) {
    p.forward[c] = {1.0 / (1e10 * (c + 1)), 1.0 / 5e9, 1e-5 * (c + 1)};
    p.backward[c] = {1.0 / (7e9 * (c + 1)), 1.0 / 4e9, 2e-5};
  }
  p.forward[int(OpClass::kNorm)].s_per_flop = 0;  // "inf": not a bottleneck
  p.step_s = 3e-5;
  p.s_per_optimizer_float = 1.0 / 2e9;
  p.s_per_optimizer_tensor = 1e-6;
  p.task_s = 2e-4;
  p.s_per_setup_float = 1.0 / 1e9;
  p.s_per_setup_tensor = 5e-6;
  return p;
}
}  // namespace

TEST_CASE("a compute profile prices work linearly, term by term", "[compute_profile]") {
  const ComputeProfile p = example_profile();
  ComputeWork w;
  w.forward[int(OpClass::kConv)] = {1e10, 5e9, 10};  // 1 s + 1 s + 1e-4 s
  w.steps = 2;                                       // 6e-5 s
  w.optimizer_floats = 2e9;                          // 1 s
  w.optimizer_tensors = 4;                           // 4e-6 s
  w.tasks = 1;                                       // 2e-4 s
  w.setup_floats = 1e9;                              // 1 s
  w.setup_tensors = 2;                               // 1e-5 s
  CHECK(p.seconds(w) == Approx(4.0 + 1e-4 + 6e-5 + 4e-6 + 2e-4 + 1e-5).epsilon(1e-12));
}

TEST_CASE("a compute profile file round-trips", "[compute_profile]") {
  TempDir dir;
  const ComputeProfile p = example_profile();
  save_compute_profile(dir.file("p.toml"), p);
  const ComputeProfile q = load_compute_profile(dir.file("p.toml"));
  CHECK(q.name == p.name);
  CHECK(q.source == p.source);
  for (int c = 0; c < kOpClasses; ++c) {
    CHECK(q.forward[c].s_per_flop == Approx(p.forward[c].s_per_flop).epsilon(1e-15));
    CHECK(q.forward[c].s_per_byte == Approx(p.forward[c].s_per_byte).epsilon(1e-15));
    CHECK(q.backward[c].s_per_kernel == p.backward[c].s_per_kernel);
  }
  CHECK(q.forward[int(OpClass::kNorm)].s_per_flop == 0);
  CHECK(q.step_s == p.step_s);
  CHECK(q.s_per_optimizer_tensor == p.s_per_optimizer_tensor);
  CHECK(q.task_s == p.task_s);
  CHECK(q.s_per_setup_float == Approx(p.s_per_setup_float).epsilon(1e-15));
  CHECK(q.s_per_setup_tensor == p.s_per_setup_tensor);
}

TEST_CASE("a missing or malformed compute profile is an error naming the file and the key", "[compute_profile]") {
  TempDir dir;
  CHECK_THAT(input_error_of([&] { load_compute_profile(dir.file("absent.toml")); }),
             Catch::Contains("absent.toml"));
  save_compute_profile(dir.file("p.toml"), example_profile());
  std::string text;
  {
    std::ifstream in(dir.file("p.toml"));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir.file(name)) << body;
    return dir.file(name);
  };
  // A coefficient left out.
  std::string missing = text;
  missing.erase(missing.find("[step]"), std::string("[step]\nseconds = ").size());
  const std::string m = write("missing.toml", missing.substr(0, missing.find("\n[optimizer]")) + "\n" +
                                                  text.substr(text.find("[optimizer]")));
  CHECK_THAT(input_error_of([&] { load_compute_profile(m); }),
             Catch::Contains("missing.toml") && Catch::Contains("step.seconds"));
  // A malformed number.
  std::string bad = text;
  const auto at = bad.find("kernel_seconds = ") + 17;
  bad.replace(at, bad.find('\n', at) - at, "fast");
  const std::string b = write("bad.toml", bad);
  CHECK_THAT(input_error_of([&] { load_compute_profile(b); }),
             Catch::Contains("bad.toml") && Catch::Contains("forward.conv.kernel_seconds") && Catch::Contains("fast"));
  // An unknown key.
  const std::string u = write("unknown.toml", text + "\n[forward.softmax]\nflops_per_second = 1\n");
  CHECK_THAT(input_error_of([&] { load_compute_profile(u); }),
             Catch::Contains("unknown.toml") && Catch::Contains("forward.softmax.flops_per_second"));
}

TEST_CASE("a convolution whose output channels do not fill vector registers is its own op class", "[compute_work]") {
  ModelSpec s;
  SpecBuilder b(s, 3, 8, 8);
  const int wide = b.conv(b.group("a", 16), 3, 1, 1);
  const int odd = b.conv(b.group("b", 12), 3, 1, 1);
  const int bn = b.batchnorm();
  OpClass c;
  REQUIRE(op_class_of(s, wide, &c));
  CHECK(c == OpClass::kConv);
  REQUIRE(op_class_of(s, odd, &c));
  CHECK(c == OpClass::kConvUnaligned);
  REQUIRE(op_class_of(s, bn, &c));
  CHECK(c == OpClass::kNorm);
  // The work itself does not depend on the class: only which coefficients price it.
  CHECK(layer_work(s, odd, 4).flops == 4 * layer_forward_flops(s, s.layers[odd]));
  // Width scaling moves a model's convolutions between the two classes (CNN: 16 and 32 channels;
  // at width 0.7 12 and 23 of them).
  const ComputeWork full = training_step_work(make_cnn(1, 28, 10, 1.0), {}, 8);
  const ComputeWork narrow = training_step_work(make_cnn(1, 28, 10, 0.7), {}, 8);
  CHECK(full.forward[int(OpClass::kConvUnaligned)].flops == 0);
  CHECK(narrow.forward[int(OpClass::kConv)].flops == 0);
  CHECK(narrow.forward[int(OpClass::kConvUnaligned)].flops > 0);
}

TEST_CASE("a compute profile of the older three-class format still loads", "[compute_profile]") {
  TempDir dir;
  std::string body = "[profile]\nname = \"old\"\nsource = \"three classes\"\n";
  const char* classes[] = {"conv", "matmul", "elementwise"};
  for (const char* dir_name : {"forward", "backward"})
    for (int c = 0; c < 3; ++c)
      body += std::string("[") + dir_name + "." + classes[c] + "]\nflops_per_second = " + std::to_string(1e10 * (c + 1)) +
              "\nbytes_per_second = 5e9\nkernel_seconds = " + std::to_string(1e-5 * (c + 1)) +
              "\npositions_per_second = \"inf\"\n";
  body += "[step]\nseconds = 0\n[optimizer]\nfloats_per_second = 1e9\ntensor_seconds = 0\n"
          "[task]\nseconds = 0\nfloats_per_second = 1e9\ntensor_seconds = 0\n";
  std::ofstream(dir.file("old.toml")) << body;
  const ComputeProfile p = load_compute_profile(dir.file("old.toml"));
  // conv_unaligned is priced as conv; norm, activation, pool and embedding as elementwise.
  CHECK(p.forward[int(OpClass::kConvUnaligned)].s_per_flop == p.forward[int(OpClass::kConv)].s_per_flop);
  CHECK(p.forward[int(OpClass::kConv)].s_per_flop == Approx(1e-10));
  for (OpClass c : {OpClass::kNorm, OpClass::kActivation, OpClass::kPool, OpClass::kEmbedding}) {
    CHECK(p.forward[int(c)].s_per_flop == Approx(1.0 / 3e10));
    CHECK(p.backward[int(c)].s_per_kernel == Approx(3e-5));
  }
  CHECK(p.forward[int(OpClass::kMatmul)].s_per_kernel == Approx(2e-5));
  // Without the older key either, the error names both.
  const std::string partial = body.substr(0, body.find("[backward.elementwise]")) + body.substr(body.find("[step]"));
  std::ofstream(dir.file("partial.toml")) << partial;
  CHECK_THAT(input_error_of([&] { load_compute_profile(dir.file("partial.toml")); }),
             Catch::Contains("partial.toml") && Catch::Contains("backward.activation.") &&
                 Catch::Contains("backward.elementwise."));
}

TEST_CASE("the fit recovers known coefficients from synthetic timings", "[profile_fit]") {
  const OpSpeed truth{1.0 / 2e10, 1.0 / 6e9, 1.5e-5};
  Rng rng(7, Purpose::kShuffle, 0, 0);
  std::vector<OpTiming> timings;
  for (int i = 0; i < 60; ++i) {
    // Work spanning small-kernel-bound to compute-bound ops.
    const double scale = std::pow(10.0, 3.0 * rng.uniform());
    OpWork w{2e5 * scale * (0.5 + rng.uniform()), 4e4 * scale * (0.5 + rng.uniform()), double(1 + rng.below(3))};
    timings.push_back({w, truth.seconds(w)});
  }
  const OpSpeed fit = fit_op_speed(timings);
  CHECK(fit.s_per_flop == Approx(truth.s_per_flop).epsilon(1e-6));
  CHECK(fit.s_per_byte == Approx(truth.s_per_byte).epsilon(1e-6));
  CHECK(fit.s_per_kernel == Approx(truth.s_per_kernel).epsilon(1e-6));

  // With 2% multiplicative noise the coefficients stay within a few percent.
  for (auto& t : timings) t.seconds *= 1.0 + 0.04 * (rng.uniform() - 0.5);
  const OpSpeed noisy = fit_op_speed(timings);
  CHECK(noisy.s_per_flop == Approx(truth.s_per_flop).epsilon(0.05));
  CHECK(noisy.s_per_kernel == Approx(truth.s_per_kernel).epsilon(0.1));
}

TEST_CASE("the fit recovers 18 known coefficients, zeros included, as the whole-task fit has", "[profile_fit]") {
  Rng rng(11, Purpose::kShuffle, 0, 0);
  std::vector<double> truth(18);
  for (std::size_t j = 0; j < truth.size(); ++j) truth[j] = j % 4 == 3 ? 0.0 : std::pow(10.0, -3.0 * rng.uniform());
  std::vector<std::vector<double>> rows;
  std::vector<double> times;
  for (int i = 0; i < 120; ++i) {
    std::vector<double> r(truth.size());
    double t = 0;
    for (std::size_t j = 0; j < r.size(); ++j) r[j] = std::pow(10.0, 4.0 * rng.uniform()), t += r[j] * truth[j];
    rows.push_back(r), times.push_back(t);
  }
  const std::vector<double> x = fit_nonnegative(rows, times);
  for (std::size_t j = 0; j < truth.size(); ++j) CHECK(x[j] == Approx(truth[j]).margin(1e-9).epsilon(1e-6));
}

TEST_CASE("the fit never returns a negative coefficient", "[profile_fit]") {
  // Times that a negative per-kernel cost would fit best: the constrained optimum sets it to 0.
  std::vector<std::vector<double>> rows = {{1, 1}, {2, 1}, {4, 1}, {8, 1}};
  std::vector<double> times = {0.5, 1.5, 3.5, 7.5};  // = x − 0.5 exactly
  const auto x = fit_nonnegative(rows, times);
  CHECK(x[1] == 0.0);
  CHECK(x[0] > 0.0);
  // The exact unconstrained case is recovered too.
  const auto y = fit_nonnegative(rows, {1.5, 2.5, 4.5, 8.5});  // = x + 0.5
  CHECK(y[0] == Approx(1.0));
  CHECK(y[1] == Approx(0.5));
}

TEST_CASE("device sets name compute profiles relative to themselves; a class priced by its own is not slowed down",
          "[compute_profile][device]") {
  const DeviceSet set = load_device_set(EDGESIM_SOURCE_DIR "/experiments/devices/jetson16.toml");
  REQUIRE(set.reference_compute_profile >= 0);
  const DeviceProfile* nano = nullptr;
  for (const auto& d : set.devices)
    if (d.name == "nano") nano = &d;
  REQUIRE(nano);
  double to_reference = 0;
  const ComputeProfile* p = compute_profile_of(set, *nano, &to_reference);
  REQUIRE(p);
  CHECK(p->name == "nano");
  CHECK(to_reference == Approx(1.0 / nano->slowdown));  // the clock's × slowdown then cancels

  // A power mode: the same profile, profile_slowdown times slower.
  TempDir dir;
  save_compute_profile(dir.file("board.toml"), example_profile());
  std::ofstream(dir.file("modes.toml")) << "[reference]\nflops_per_second = 1e11\n"
                                           "[profiles.full]\nslowdown = 2\nmemory = \"1GiB\"\ncompute_profile = \"board.toml\"\n"
                                           "[profiles.eco]\nslowdown = 3\nmemory = \"1GiB\"\ncompute_profile = \"board.toml\"\n"
                                           "profile_slowdown = 1.5\n[set]\ndevices = [\"full\", \"eco\"]\n";
  const DeviceSet modes = load_device_set(dir.file("modes.toml"));
  double full_k = 0, eco_k = 0;
  compute_profile_of(modes, modes.devices[0], &full_k);
  compute_profile_of(modes, modes.devices[1], &eco_k);
  CHECK(full_k * modes.devices[0].slowdown == Approx(1.0));  // priced by the profile alone
  CHECK(eco_k * modes.devices[1].slowdown == Approx(1.5));   // × profile_slowdown

  std::ofstream(dir.file("set.toml")) << "[reference]\nflops_per_second = 1e11\ncompute_profile = \"p/none.toml\"\n"
                                         "[profiles.a]\nslowdown = 2\nmemory = \"1GiB\"\n[set]\ndevices = [\"a\"]\n";
  const std::string error = input_error_of([&] { load_device_set(dir.file("set.toml")); });
  CHECK_THAT(error, Catch::Contains("set.toml: key 'reference.compute_profile'") && Catch::Contains("p/none.toml"));
}

TEST_CASE("clock.profile is read only by the calibrated clock and must exist", "[compute_profile][config]") {
  TempDir dir;
  save_compute_profile(dir.file("host.toml"), example_profile());
  auto config = [&](const std::string& body) {
    std::ofstream(dir.file("exp.toml")) << "[devices]\nprofiles = \"" EDGESIM_SOURCE_DIR
                                           "/experiments/devices/jetson16.toml\"\n[data]\ndataset = \"synthetic\"\n"
                                        << body;
    return dir.file("exp.toml");
  };
  // Relative to the config file.
  const ExperimentConfig ok = load_config(config("[clock]\nmode = \"calibrated\"\nprofile = \"host.toml\"\n"), {});
  CHECK(ok.clock.profile == dir.file("host.toml"));
  CHECK_THAT(input_error_of([&] { load_config(config("[clock]\nprofile = \"host.toml\"\n"), {}); }),
             Catch::Contains("clock.profile") && Catch::Contains("only read with clock.mode = \"calibrated\""));
  CHECK_THAT(input_error_of([&] { load_config(config("[clock]\nmode = \"calibrated\"\nprofile = \"nope.toml\"\n"), {}); }),
             Catch::Contains("clock.profile") && Catch::Contains("no such file"));
}
