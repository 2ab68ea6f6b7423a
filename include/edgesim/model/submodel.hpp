#pragma once
// Submodels: which units of each group a device keeps. A SubmodelSpec gives, for every unit
// group of the global ModelSpec, the kept unit indices (in the order the submodel uses
// them). From it come the submodel's own ModelSpec (a dense, smaller model: real savings in
// FLOPs, memory and bytes) and its gather index: for each entry of the submodel's flat
// weights, the position of the global entry it copies. Extraction is `global[gather]`;
// scattering back and coverage-count averaging add at those positions (model/aggregate.hpp).
#include <cstdint>
#include <vector>

#include "edgesim/model/spec.hpp"

namespace edgesim {

struct SubmodelSpec {
  std::vector<std::vector<std::int64_t>> kept;  // [group] -> kept unit indices
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

// The submodel's architecture: the global spec with each group cut to its kept units.
ModelSpec submodel_architecture(const ModelSpec& global, const SubmodelSpec& sub);

// Flat index into the global weights (parameters then buffers) of every submodel entry.
std::vector<std::int64_t> gather_index(const ModelSpec& global, const SubmodelSpec& sub);

}  // namespace edgesim
