#include "edgesim/app/profile_command.hpp"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

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

const ModelSpec& zoo_model(const std::string& name, const std::string& where) {
  static const std::vector<ZooModel> models = zoo_models();
  for (const ZooModel& m : models)
    if (m.name == name) return m.spec;
  throw InputError(where + ": unknown model '" + name + "'");
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

// ---- the raw measurements -------------------------------------------------------------

// A task's time from its rounds (docs/CLOCK.md: which statistic repeats best on a noisy host).
double summarised(std::vector<double> rounds, const std::string& statistic) {
  std::sort(rounds.begin(), rounds.end());
  if (rounds.empty()) return 0.0;
  if (statistic == "median") return rounds[rounds.size() / 2];
  if (statistic == "lower-quartile") return rounds[rounds.size() / 4];
  if (statistic == "min") return rounds.front();
  throw InputError("profile --statistic: unknown statistic '" + statistic + "'");
}

// Space-separated, each the shortest text that reads back as the same double (so a refit from
// the timings is the fit of the measurement itself).
std::string joined(const std::vector<double>& v) {
  std::string s;
  char cell[32];
  for (double x : v) {
    if (!s.empty()) s += ' ';
    s.append(cell, std::to_chars(cell, cell + sizeof cell, x).ptr);
  }
  return s;
}

// Space-separated numbers (std::invalid_argument on anything else, as std::stod).
std::vector<double> numbers(const std::string& cell) {
  std::vector<double> v;
  std::stringstream ss(cell);
  for (std::string x; ss >> x;) {
    std::size_t used = 0;
    v.push_back(std::stod(x, &used));
    if (used != x.size()) throw std::invalid_argument(x);
  }
  return v;
}

struct LayerRow {
  std::string model;
  double rate = 1;
  int batch = 0;
  OpClass op_class = OpClass::kConv;
  OpWork work;
  double forward_s = 0, backward_s = 0;
};
struct TaskRow {
  std::string kind;  // "fit" or "check"
  std::string model;
  double rate = 1;
  int batch = 0, samples = 0;
  double measured_s = 0;                   // the statistic of the rounds the fit and check use
  std::vector<double> rounds_s, rounds_cpu_s;  // every round's wall and CPU seconds (empty in older timings)
  ComputeWork work() const {
    const ModelSpec arch = at_rate(zoo_model(model, "timings"), rate);
    ComputeWork w = training_work(arch, {}, batch, samples);
    w += task_setup_work(arch);
    return w;
  }
};
struct Timings {
  std::string host, date;
  std::vector<LayerRow> layers;
  std::vector<TaskRow> tasks;
};

// Every task's time as `statistic` of its rounds; timings from before the rounds were kept only
// have their medians.
void summarise(std::vector<TaskRow>& rows, const std::string& statistic, const std::string& source) {
  for (TaskRow& r : rows) {
    if (!r.rounds_s.empty())
      r.measured_s = summarised(r.rounds_s, statistic);
    else if (statistic != "median")
      throw InputError(source + ": no rounds kept for the tasks (timings from an older edgesim): only --statistic median");
  }
}

// Fit: layers at widths 1 → 0.15, batches 8, 32, 128; tasks down to width 0.06 (what HeteroFL's
// smallest levels hand out) at the same batches, each of 2 and 8 steps (so the per-step and the
// per-task costs separate), and one of 32 steps at the smallest batch (a 256-sample epoch, as
// long as the tasks a run hands out: at small widths the per-step cost is most of a task, and
// fitted from 2- and 8-step tasks alone it was extrapolated to the 16 steps of a check task).
// Width 0.75 is there for its channel counts: most are multiples of 8 (24, 48, 96), so aligned
// convolutions are seen below full width too. Check: widths 1 → 0.125 and batches 16, 64, none
// of them fitted.
struct Grid {
  std::vector<double> layer_rates, task_rates, check_rates;
  std::vector<int> batches, check_batches, steps;
  int long_steps;  // the one longer task per width, at the smallest batch
  int repeats;  // timed rounds of every task (after a warm-up)
  double layer_seconds;
};
Grid grid_of(const ProfileCommand& cmd) {
  Grid g = cmd.quick ? Grid{{1.0, 0.3}, {1.0, 0.3}, {1.0, 0.25}, {16}, {16}, {1, 2}, 4, 1, 0.002}
                     : Grid{{1.0, 0.75, 0.6, 0.3, 0.15}, {1.0, 0.75, 0.7, 0.4, 0.2, 0.1, 0.06}, {1.0, 0.5, 0.25, 0.125},
                            {8, 32, 128}, {16, 64}, {2, 8}, 32, 7, 0.02};
  if (cmd.repeats > 0) g.repeats = cmd.repeats;
  return g;
}

// Held-out tasks (widths and batch sizes no fit saw), 256 samples each; not yet timed.
std::vector<TaskRow> check_task_rows(const ProfileCommand& cmd) {
  const Grid g = grid_of(cmd);
  std::vector<TaskRow> rows;
  for (const ZooModel& m : zoo_models())
    for (double r : g.check_rates)
      for (int b : g.check_batches) rows.push_back({"check", m.name, r, b, cmd.quick ? 2 * b : 256, 0.0, {}, {}});
  return rows;
}

// Times every row's task, all interleaved (device/benchmark.hpp: the host's drift is spread
// over fit and check tasks alike instead of biasing whichever was measured last).
void time_task_rows(std::vector<TaskRow>& rows, int repeats) {
  std::vector<TaskShape> shapes;
  for (const TaskRow& r : rows) shapes.push_back({at_rate(zoo_model(r.model, "profile"), r.rate), r.batch, r.samples});
  const std::vector<TaskTiming> timed = benchmark_tasks_interleaved(shapes, repeats);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].rounds_s = timed[i].wall_s, rows[i].rounds_cpu_s = timed[i].cpu_s;
    rows[i].measured_s = summarised(rows[i].rounds_s, "median");  // --statistic is applied later
  }
}

Timings measure(const ProfileCommand& cmd) {
  const Grid g = grid_of(cmd);
  Timings t;
  t.host = host_name(), t.date = today();
  for (const ZooModel& m : zoo_models())
    for (double r : g.layer_rates)
      for (int b : g.batches)
        for (const LayerTiming& l : benchmark_layers(at_rate(m.spec, r), b, g.layer_seconds))
          t.layers.push_back({m.name, r, b, l.op_class, l.work, l.forward_s, l.backward_s});
  std::printf("timed %zu layers; timing whole tasks\n", t.layers.size());
  std::fflush(stdout);
  for (const ZooModel& m : zoo_models())
    for (double r : g.task_rates)
      for (int b : g.batches)
        for (int steps : g.steps) t.tasks.push_back({"fit", m.name, r, b, steps * b, 0.0, {}, {}});
  for (const ZooModel& m : zoo_models())
    for (double r : g.task_rates) t.tasks.push_back({"fit", m.name, r, g.batches[0], g.long_steps * g.batches[0], 0.0, {}, {}});
  if (!cmd.check.empty())
    for (TaskRow& r : check_task_rows(cmd)) t.tasks.push_back(std::move(r));
  time_task_rows(t.tasks, g.repeats);
  return t;
}

void write_timings(const std::string& path, const Timings& t) {
  std::ofstream out(path);
  if (!out) throw InputError(path + ": cannot write the timings");
  out << "# edgesim profile timings: " << t.host << ", " << t.date
      << ", 1 thread (seconds; medians of repeats; a task's rounds space-separated, in round order)\n";
  out << "kind,model,rate,batch,samples,op_class,flops,bytes,kernels,forward_s,backward_s,measured_s,positions,rounds_s,"
         "rounds_cpu_s\n";
  char line[512];
  for (const LayerRow& l : t.layers) {
    std::snprintf(line, sizeof line, "layer,%s,%.17g,%d,,%s,%.17g,%.17g,%.17g,%.17g,%.17g,,%.17g\n", l.model.c_str(),
                  l.rate, l.batch, op_class_name(l.op_class), l.work.flops, l.work.bytes, l.work.kernels, l.forward_s,
                  l.backward_s, l.work.positions);
    out << line;
  }
  for (const TaskRow& r : t.tasks) {
    std::snprintf(line, sizeof line, "%s,%s,%.17g,%d,%d,,,,,,,%.17g,,", r.kind.c_str(), r.model.c_str(), r.rate, r.batch,
                  r.samples, r.measured_s);
    out << line << joined(r.rounds_s) << ',' << joined(r.rounds_cpu_s) << '\n';
  }
  if (!out) throw InputError(path + ": cannot write the timings");
}

Timings read_timings(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read the timings");
  Timings t;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#' || line.rfind("kind,", 0) == 0) {
      if (line.rfind("# edgesim profile timings: ", 0) == 0) {
        const std::string rest = line.substr(27);
        t.host = rest.substr(0, rest.find(','));
        const std::size_t c = rest.find(", ");
        t.date = c == std::string::npos ? "" : rest.substr(c + 2, 10);
      }
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    while (f.size() < 15) f.emplace_back();
    const std::string where = path + ": line " + std::to_string(n);
    try {
      if (f[0] == "layer") {
        LayerRow l;
        l.model = f[1], l.rate = std::stod(f[2]), l.batch = std::stoi(f[3]);
        bool known = false;
        for (int c = 0; c < kOpClasses; ++c)
          if (f[5] == op_class_name(OpClass(c))) l.op_class = OpClass(c), known = true;
        if (!known && f[5] == "elementwise")
          throw InputError(where + ": op class 'elementwise' is the older timings format (before it was split into norm, "
                           "activation, pool and embedding, and conv into conv and conv_unaligned): measure again");
        if (!known) throw InputError(where + ": unknown op class '" + f[5] + "'");
        l.work = {std::stod(f[6]), std::stod(f[7]), std::stod(f[8]), std::stod(f[12])};
        l.forward_s = std::stod(f[9]), l.backward_s = std::stod(f[10]);
        t.layers.push_back(l);
      } else if (f[0] == "fit" || f[0] == "check") {
        zoo_model(f[1], where);
        t.tasks.push_back({f[0], f[1], std::stod(f[2]), std::stoi(f[3]), std::stoi(f[4]), std::stod(f[11]),
                           numbers(f[13]), numbers(f[14])});
      } else {
        throw InputError(where + ": unknown row kind '" + f[0] + "'");
      }
    } catch (const std::invalid_argument&) {
      throw InputError(where + ": malformed number");
    } catch (const std::out_of_range&) {
      throw InputError(where + ": number out of range");
    }
  }
  return t;
}

// ---- the fit ----------------------------------------------------------------------------

// The whole-task factor that scales term k (0 FLOPs, 1 bytes, 2 kernels, 3 positions) of class c.
// Aligned and unaligned convolutions differ in their FLOP rate only (the vector-width effect);
// the four element-wise classes in their memory traffic only (what a normalisation, an
// activation, a pooling window or a table lookup does per byte); matrix products stand alone.
enum Factor {
  kConvFlops, kConvUnalignedFlops, kConvBytes, kConvKernels, kConvPositions,
  kMatmulFlops, kMatmulBytes, kMatmulKernels, kMatmulPositions,
  kNormBytes, kActivationBytes, kPoolBytes, kEmbeddingBytes, kElementwiseFlops, kElementwiseKernels,
  kElementwisePositions, kFactors
};
int factor_of(OpClass c, int term) {
  static const Factor conv_rest[] = {kConvFlops, kConvBytes, kConvKernels, kConvPositions};
  static const Factor matmul[] = {kMatmulFlops, kMatmulBytes, kMatmulKernels, kMatmulPositions};
  static const Factor elementwise[] = {kElementwiseFlops, kNormBytes, kElementwiseKernels, kElementwisePositions};
  switch (c) {
    case OpClass::kConv:
      return conv_rest[term];
    case OpClass::kConvUnaligned:
      return term == 0 ? kConvUnalignedFlops : conv_rest[term];
    case OpClass::kMatmul:
      return matmul[term];
    case OpClass::kNorm:
      return elementwise[term];
    case OpClass::kActivation:
      return term == 1 ? kActivationBytes : elementwise[term];
    case OpClass::kPool:
      return term == 1 ? kPoolBytes : elementwise[term];
    case OpClass::kEmbedding:
      return term == 1 ? kEmbeddingBytes : elementwise[term];
  }
  return elementwise[term];
}

ComputeProfile fit(const Timings& t, const std::string& name, const std::string& source) {
  std::vector<OpTiming> fwd[kOpClasses], bwd[kOpClasses];
  for (const LayerRow& l : t.layers) {
    fwd[int(l.op_class)].push_back({l.work, l.forward_s});
    bwd[int(l.op_class)].push_back({l.work, l.backward_s});
  }
  ComputeProfile layers;
  for (int c = 0; c < kOpClasses; ++c) {
    if (fwd[c].empty()) throw InputError("profile: no layer of op class " + std::string(op_class_name(OpClass(c))));
    layers.forward[c] = fit_op_speed(fwd[c]);
    layers.backward[c] = fit_op_speed(bwd[c]);
  }
  // Whole tasks: time = Σ_{c,k} α_f(c,k) · (term k — FLOPs, bytes, kernels or positions — of
  // class c as the layers price it, forward and backward) + the step, optimizer and set-up terms.
  // Layers timed alone run faster than inside a network (warm caches, no neighbours in the
  // autograd graph), by an amount that differs per class and per term; the layer fits keep
  // each term's split between forward and backward. Classes split from one family share the
  // factors of the terms they do not differ in (factor_of), so that a class only a few tasks
  // exercise (aligned convolutions: width 1) does not get four free factors of its own.
  auto terms = [](const OpSpeed& s, const OpWork& w) {
    return std::array<double, 4>{w.flops * s.s_per_flop, w.bytes * s.s_per_byte, w.kernels * s.s_per_kernel,
                                 w.positions * s.s_per_position};
  };
  std::vector<std::vector<double>> rows;
  std::vector<double> times;
  for (const TaskRow& r : t.tasks) {
    if (r.kind != "fit") continue;
    const ComputeWork w = r.work();
    std::vector<double> row(kFactors, 0.0);
    for (int c = 0; c < kOpClasses; ++c) {
      const auto f = terms(layers.forward[c], w.forward[c]), b = terms(layers.backward[c], w.backward[c]);
      for (int k = 0; k < 4; ++k) row[factor_of(OpClass(c), k)] += f[k] + b[k];
    }
    row.insert(row.end(), {w.steps, w.optimizer_floats, w.optimizer_tensors, w.tasks, w.setup_floats, w.setup_tensors});
    rows.push_back(row);
    times.push_back(r.measured_s);
  }
  if (rows.empty()) throw InputError("profile: no whole-task timings to fit");
  const std::vector<double> x = fit_nonnegative(rows, times);
  ComputeProfile p = layers;
  p.name = name;
  p.source = source + ", whole-task factors (FLOPs, bytes, kernels, positions):";
  for (int c = 0; c < kOpClasses; ++c) {
    double a[4];
    for (int k = 0; k < 4; ++k) a[k] = x[factor_of(OpClass(c), k)];
    char f[160];
    std::snprintf(f, sizeof f, " %s %.3g %.3g %.3g %.3g", op_class_name(OpClass(c)), a[0], a[1], a[2], a[3]);
    p.source += f;
    for (OpSpeed* s : {&p.forward[c], &p.backward[c]})
      s->s_per_flop *= a[0], s->s_per_byte *= a[1], s->s_per_kernel *= a[2], s->s_per_position *= a[3];
  }
  const std::size_t o = kFactors;
  p.step_s = x[o];
  p.s_per_optimizer_float = x[o + 1], p.s_per_optimizer_tensor = x[o + 2];
  p.task_s = x[o + 3], p.s_per_setup_float = x[o + 4], p.s_per_setup_tensor = x[o + 5];
  return p;
}

// ---- the check ---------------------------------------------------------------------------

void write_check(const ComputeProfile& p, const std::vector<TaskRow>& rows, const std::string& path) {
  std::ofstream csv(path);
  if (!csv) throw InputError(path + ": cannot write");
  csv << "model,rate,batch,samples,flops,measured_s,calibrated_s\n";
  for (const TaskRow& r : rows) {
    const double predicted = p.seconds(r.work());
    const double flops = training_flops_per_sample(at_rate(zoo_model(r.model, path), r.rate)) * r.samples;
    char line[256];
    std::snprintf(line, sizeof line, "%s,%g,%d,%d,%.6g,%.6g,%.6g\n", r.model.c_str(), r.rate, r.batch, r.samples, flops,
                  r.measured_s, predicted);
    csv << line;
    std::printf("%-12s rate %-5g batch %-3d measured %8.4f s  calibrated %8.4f s  (%+.1f%%)\n", r.model.c_str(), r.rate,
                r.batch, r.measured_s, predicted, 100 * relative_error(predicted, r.measured_s));
  }
  std::fflush(stdout);
}

std::vector<TaskRow> check_rows(const Timings& t) {
  std::vector<TaskRow> out;
  for (const TaskRow& r : t.tasks)
    if (r.kind == "check") out.push_back(r);
  return out;
}

std::string default_timings_path(const std::string& out) {
  const std::size_t dot = out.rfind(".toml");
  return (dot == std::string::npos ? out : out.substr(0, dot)) + ".timings.csv";
}

}  // namespace

int run_profile_command(const ProfileCommand& cmd) {
  torch::set_num_threads(1);  // as every rank trains (run.threads = 1)
  torch::manual_seed(1);
  if (!cmd.use.empty()) {
    // An existing profile against freshly measured held-out tasks.
    const ComputeProfile p = load_compute_profile(cmd.use);
    if (cmd.check.empty()) throw InputError("profile --use needs --check CSV (what to write)");
    std::vector<TaskRow> rows = check_task_rows(cmd);
    time_task_rows(rows, grid_of(cmd).repeats);
    summarise(rows, cmd.statistic, "profile --use");
    write_check(p, rows, cmd.check);
    return 0;
  }
  Timings t;
  if (!cmd.from.empty()) {
    t = read_timings(cmd.from);
  } else {
    t = measure(cmd);
    const std::string path = cmd.timings.empty() ? default_timings_path(cmd.out) : cmd.timings;
    write_timings(path, t);
    std::printf("wrote %s\n", path.c_str());
  }
  summarise(t.tasks, cmd.statistic, cmd.from);
  const std::string host = t.host.empty() ? host_name() : t.host;
  std::string source = "edgesim profile on " + host + ", " + (t.date.empty() ? today() : t.date) + ", 1 thread, " +
                       std::to_string(t.layers.size()) + " layer and " + std::to_string(t.tasks.size()) + " task timings" +
                       (cmd.quick ? " (quick)" : "");
  const ComputeProfile p = fit(t, cmd.name.empty() ? host : cmd.name, source);
  save_compute_profile(cmd.out, p);
  std::printf("wrote %s\n", cmd.out.c_str());
  if (!cmd.check.empty()) {
    const std::vector<TaskRow> rows = check_rows(t);
    if (rows.empty()) throw InputError(cmd.from + ": no check rows (measure with --check to have them)");
    write_check(p, rows, cmd.check);
  }
  return 0;
}

}  // namespace edgesim
