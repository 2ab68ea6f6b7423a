#pragma once
// MSfusion's double-shifting split (Xie & Li, arXiv 2407.03622; the rule below is a
// reconstruction from its abstract and NOTES.md §2 — docs/ALGORITHMS.md). Participant n of N
// (0-based, in device order among the round's participants) trains, in round t (0-based), for
// every sliceable unit group of d units, the window
//   start = (floor(n · gap · d) + t · ζ) mod d,   length = min(d, ceil(ℓ · d)),   wrapping around,
// where gap is the inter-participant gap as a fraction of the width (default 1/N: the starts
// spread evenly, so the windows of one round cover every unit as soon as ℓ ≥ 1/N) and ζ the
// inter-round shift in units (every unit gets trained evenly over rounds). ℓ is the window's
// share of the width: the participant's split μ_n, or less when the overlap is adapted.
// Groups that cannot shrink keep every unit.
#include <cstdint>
#include <vector>

#include "edgesim/model/spec.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {

struct SplitWindow {
  int participant = 0, participants = 1;  // n and N
  double length = 0.5;                    // ℓ, in (0, 1]
  std::int64_t round = 0;                 // t, 0-based
  int shift = 1;                          // ζ, units per round
  double gap = 0;                         // fraction of the width; <= 0: 1/N
};

// The kept units of a group of `units`, in window order (start first).
std::vector<std::int64_t> window_units(int units, const SplitWindow& w);
SubmodelSpec split_submodel(const ModelSpec& global, const SplitWindow& w);

// Entries of the flat weights (parameters and buffers) two submodels of the same model both hold.
std::int64_t common_entries(const ModelSpec& global, const SubmodelSpec& a, const SubmodelSpec& b);

}  // namespace edgesim
