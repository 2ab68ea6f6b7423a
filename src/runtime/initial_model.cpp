#include "edgesim/runtime/initial_model.hpp"

#include <sstream>

#include "edgesim/common/error.hpp"
#include "edgesim/io/results.hpp"

namespace edgesim {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

std::vector<float> initial_model_from(const ExperimentConfig& config, const ModelSpec& model) {
  const std::string& path = config.model.init_from;
  const std::string where = config.source + ": key 'model.init_from': ";
  FinalModel m;
  try {
    m = read_final_model(path);
  } catch (const InputError& e) {
    throw InputError(where + e.what());
  }
  const std::int64_t wanted = model.state_count(), held = static_cast<std::int64_t>(m.weights.size());
  const std::string mine = model_tensor_shapes(model);
  if (!m.model_tensors.empty() && m.model_tensors != mine) {
    const std::vector<std::string> a = lines_of(m.model_tensors), b = lines_of(mine);
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const std::string theirs = i < a.size() ? a[i] : "(no more tensors)", ours = i < b.size() ? b[i] : "(no more tensors)";
    throw InputError(where + "the model in " + path + " (" + std::to_string(a.size()) + " tensors, " +
                     std::to_string(held) + " floats) is not this config's model " + model.name + " (" +
                     std::to_string(b.size()) + " tensors, " + std::to_string(wanted) + " floats): tensor " +
                     std::to_string(i + 1) + " is '" + theirs + "' in the file but '" + ours + "' in the config");
  }
  if (held != wanted)
    throw InputError(where + "the model in " + path + " has " + std::to_string(held) + " floats but this config's model " +
                     model.name + " has " + std::to_string(wanted));
  return std::move(m.weights);
}

}  // namespace edgesim
