#include "edgesim/device/compute_profile.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>

#include "edgesim/common/error.hpp"
#include "edgesim/common/units.hpp"
#include "edgesim/io/toml.hpp"

namespace edgesim {

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::kConv:
      return "conv";
    case OpClass::kConvUnaligned:
      return "conv_unaligned";
    case OpClass::kMatmul:
      return "matmul";
    case OpClass::kNorm:
      return "norm";
    case OpClass::kActivation:
      return "activation";
    case OpClass::kPool:
      return "pool";
    case OpClass::kEmbedding:
      return "embedding";
  }
  return "?";
}

const char* legacy_op_class_name(OpClass c) {
  switch (c) {
    case OpClass::kConv:
    case OpClass::kMatmul:
      return nullptr;
    case OpClass::kConvUnaligned:
      return "conv";
    case OpClass::kNorm:
    case OpClass::kActivation:
    case OpClass::kPool:
    case OpClass::kEmbedding:
      return "elementwise";
  }
  return nullptr;
}

double ComputeProfile::seconds(const ComputeWork& w) const {
  double s = w.steps * step_s + w.optimizer_floats * s_per_optimizer_float + w.optimizer_tensors * s_per_optimizer_tensor +
             w.tasks * task_s + w.setup_floats * s_per_setup_float + w.setup_tensors * s_per_setup_tensor;
  for (int c = 0; c < kOpClasses; ++c) s += forward[c].seconds(w.forward[c]) + backward[c].seconds(w.backward[c]);
  return s;
}

namespace {

// A rate in the file ("per second", or "inf") <-> the coefficient (seconds per unit).
std::string rate_text(double s_per_unit) {
  if (s_per_unit == 0) return "\"inf\"";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", 1.0 / s_per_unit);
  return buf;
}
std::string seconds_text(double s) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", s);
  return buf;
}

double parse_number(const std::string& where, const std::string& v, bool rate) {
  if (rate && v == "inf") return 0.0;
  return rate ? 1.0 / positive_number(where, v, false) : positive_number(where, v, true);
}

struct Field {
  double* target;
  bool rate;
  std::string legacy;  // the key of the older three-class format that stands in for it, if any
};

const char* const kTerms[] = {"flops_per_second", "bytes_per_second", "kernel_seconds", "positions_per_second"};

std::map<std::string, Field> fields_of(ComputeProfile& p) {
  std::map<std::string, Field> f;
  for (int c = 0; c < kOpClasses; ++c) {
    for (auto [dir, speeds] : {std::pair{"forward", &p.forward}, std::pair{"backward", &p.backward}}) {
      const std::string k = std::string(dir) + "." + op_class_name(OpClass(c)) + ".";
      const char* parent = legacy_op_class_name(OpClass(c));
      const std::string legacy = parent ? std::string(dir) + "." + parent + "." : "";
      OpSpeed& s = (*speeds)[c];
      double* targets[] = {&s.s_per_flop, &s.s_per_byte, &s.s_per_kernel, &s.s_per_position};
      for (int t = 0; t < 4; ++t)
        f[k + kTerms[t]] = {targets[t], t != 2, legacy.empty() ? "" : legacy + kTerms[t]};
    }
  }
  f["step.seconds"] = {&p.step_s, false, ""};
  f["optimizer.floats_per_second"] = {&p.s_per_optimizer_float, true, ""};
  f["optimizer.tensor_seconds"] = {&p.s_per_optimizer_tensor, false, ""};
  f["task.seconds"] = {&p.task_s, false, ""};
  f["task.floats_per_second"] = {&p.s_per_setup_float, true, ""};
  f["task.tensor_seconds"] = {&p.s_per_setup_tensor, false, ""};
  return f;
}

}  // namespace

std::vector<double*> profile_coefficients(ComputeProfile& p) {
  std::vector<double*> out;
  for (const auto& [key, field] : fields_of(p)) out.push_back(field.target);
  return out;
}

ComputeProfile load_compute_profile(const std::string& path) {
  ComputeProfile p;
  auto fields = fields_of(p);
  std::map<std::string, bool> legacy_rate;  // the older format's keys, and whether each is a rate
  for (const auto& [key, field] : fields)
    if (!field.legacy.empty()) legacy_rate[field.legacy] = field.rate;
  std::map<std::string, double> values;  // key -> coefficient, checked in the file's order
  for (const TomlEntry& e : read_toml_file(path)) {
    const std::string where = path + ": key '" + e.key + "'";
    if (e.values.size() != 1) throw InputError(where + ": expected a single value");
    if (e.key == "profile.name") {
      p.name = e.values[0];
    } else if (e.key == "profile.source") {
      p.source = e.values[0];
    } else if (auto it = fields.find(e.key); it != fields.end()) {
      values[e.key] = parse_number(where, e.values[0], it->second.rate);
    } else if (auto old = legacy_rate.find(e.key); old != legacy_rate.end()) {
      values[e.key] = parse_number(where, e.values[0], old->second);
    } else {
      throw InputError(path + ": unknown key '" + e.key + "' in a compute profile (expected profile.name, profile.source, "
                       "{forward,backward}.{conv,conv_unaligned,matmul,norm,activation,pool,embedding}."
                       "{flops_per_second,bytes_per_second,kernel_seconds,positions_per_second}, "
                       "step.seconds, optimizer.floats_per_second, optimizer.tensor_seconds, "
                       "task.seconds, task.floats_per_second, task.tensor_seconds)");
    }
  }
  // A profile of the older format (conv, matmul, elementwise) stays valid: a class it lacks is
  // priced as the class it was part of (conv_unaligned as conv; norm, activation, pool and
  // embedding as elementwise).
  for (const auto& [key, field] : fields) {
    auto it = values.find(key);
    if (it == values.end() && !field.legacy.empty()) it = values.find(field.legacy);
    if (it == values.end())
      throw InputError(path + ": key '" + key + "' is required in a compute profile" +
                       (field.legacy.empty() ? "" : " (or, in the older format, '" + field.legacy + "')"));
    *field.target = it->second;
  }
  return p;
}

void save_compute_profile(const std::string& path, const ComputeProfile& p) {
  auto quoted = [](std::string s) {
    for (char& ch : s)
      if (ch == '"' || ch == '\\' || ch == '\n') ch = '\'';
    return "\"" + s + "\"";
  };
  std::ofstream out(path);
  if (!out) throw InputError(path + ": cannot write the compute profile");
  out << "# edgesim compute profile (device/compute_profile.hpp): time per op = flops / flops_per_second\n"
         "# + bytes / bytes_per_second + kernels * kernel_seconds + positions / positions_per_second;\n"
         "# \"inf\" = the term costs nothing.\n"
         "[profile]\nname = " << quoted(p.name) << "\nsource = " << quoted(p.source) << "\n";
  for (auto [dir, speeds] : {std::pair{"forward", &p.forward}, std::pair{"backward", &p.backward}})
    for (int c = 0; c < kOpClasses; ++c) {
      const OpSpeed& s = (*speeds)[c];
      out << "\n[" << dir << "." << op_class_name(OpClass(c)) << "]\nflops_per_second = " << rate_text(s.s_per_flop)
          << "\nbytes_per_second = " << rate_text(s.s_per_byte) << "\nkernel_seconds = " << seconds_text(s.s_per_kernel)
          << "\npositions_per_second = " << rate_text(s.s_per_position) << "\n";
    }
  out << "\n[step]\nseconds = " << seconds_text(p.step_s) << "\n\n[optimizer]\nfloats_per_second = "
      << rate_text(p.s_per_optimizer_float) << "\ntensor_seconds = " << seconds_text(p.s_per_optimizer_tensor) << "\n"
      << "\n[task]\nseconds = " << seconds_text(p.task_s) << "\nfloats_per_second = " << rate_text(p.s_per_setup_float)
      << "\ntensor_seconds = " << seconds_text(p.s_per_setup_tensor) << "\n";
  if (!out) throw InputError(path + ": cannot write the compute profile");
}

}  // namespace edgesim
