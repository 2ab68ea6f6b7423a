#pragma once
// Submodels: which units of each group a device keeps, and how deep it goes. A SubmodelSpec
// gives, for every unit group of the global ModelSpec, the kept unit indices (in the order the
// submodel uses them), and the number of blocks kept (model/spec.hpp). From it come the
// submodel's own ModelSpec (a dense, smaller model: real savings in FLOPs, memory and bytes)
// and its gather index: for each entry of the submodel's flat weights, the position of the
// global entry it copies. Extraction is `global[gather]`; scattering back and coverage-count
// averaging add at those positions (model/aggregate.hpp). Width and depth compose.
//
// Depth: a submodel of depth k < B (the global model's blocks) keeps the layers up to the end
// of block k and ends with block k's early-exit head, which then is its classifier; one of
// depth B ends with the model's own classifier. Either way it carries no other exit head
// (unless `exits` names some, below), so an exit head is trained (and covered in the merge)
// only by the devices that end with it.
// Depth -1 keeps the whole model as it is, every exit head included. `exits` adds the exit heads
// of earlier blocks (DepthFL: a classifier after each block of the local model): a submodel of
// depth k with exits {j < k} keeps those heads too, in the global order, so its forward_exits
// gives one logits tensor per classifier.
#include <cstdint>
#include <string>
#include <vector>

#include "edgesim/model/spec.hpp"

namespace edgesim {

struct SubmodelSpec {
  std::vector<std::vector<std::int64_t>> kept;  // [group] -> kept unit indices
  int depth = -1;                               // blocks kept; -1 = the whole model
  std::vector<std::int32_t> exits;              // blocks (1-based, < depth) whose exit heads it also keeps
  double rate = 1.0;                            // nominal width (HeteroFL scaler, reports)
};

SubmodelSpec full_submodel(const ModelSpec& global);
bool keeps_everything(const ModelSpec& global, const SubmodelSpec& sub);

// Units kept of a group of `units` at `rate`: ceil(rate × units), at least 1.
int kept_units(int units, double rate);

// HeteroFL (Diao et al. 2021): the first ceil(rate·C) units of every sliceable group.
SubmodelSpec prefix_submodel(const ModelSpec& global, double rate);

// FedRolex (Alam et al. 2022): in round t, for a group of C units,
// roll(arange(C), shift = t mod C)[:ceil(rate·C)], i.e. unit (j − t) mod C at position j.
SubmodelSpec rolling_submodel(const ModelSpec& global, double rate, std::int64_t round);

// What a rate shrinks (HeteroFL's `algorithm.slicing`): the width (the prefix submodel above),
// the depth (the first ceil(rate·B) blocks at full width, ending with the last one's exit
// head, as DepthFL deploys it), or both at once.
enum class Slicing { kWidth, kDepth, kWidthAndDepth };
Slicing parse_slicing(const std::string& name);  // "width" | "depth" | "width_and_depth"
SubmodelSpec scaled_submodel(const ModelSpec& global, double rate, Slicing slicing);

// The submodel's architecture: the global spec with each group cut to its kept units and the
// layers cut to its depth. Throws std::invalid_argument when the depth is out of range or
// needs an exit head the model does not have.
ModelSpec submodel_architecture(const ModelSpec& global, const SubmodelSpec& sub);
// The same from the shape alone, as an executor receives it: units kept per group (empty =
// all) and the depth. Which units are kept does not change the architecture.
ModelSpec submodel_architecture(const ModelSpec& global, const std::vector<std::int32_t>& units, int depth,
                                const std::vector<std::int32_t>& exits = {});

// Flat index into the global weights (parameters then buffers) of every submodel entry.
std::vector<std::int64_t> gather_index(const ModelSpec& global, const SubmodelSpec& sub);

}  // namespace edgesim
