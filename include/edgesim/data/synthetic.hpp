#pragma once
// Synthetic datasets of any shape for tests and benchmarks: no files, the same bytes on every
// machine for the same arguments (all draws come from edgesim::Rng), and learnable, so a
// training run on them should show the loss going down.
#include <cstdint>

#include "edgesim/data/idx.hpp"   // ImageSet
#include "edgesim/data/text.hpp"  // TokenCorpus

namespace edgesim {

// Each class has a prototype image with uniform random pixels; a sample is its class's
// prototype plus roughly Gaussian noise (sd 64), rounded and clipped to 0..255. Labels are
// uniform over 0..num_classes-1 (1..256 classes). Prototypes depend only on seed and shape;
// `stream` picks an independent draw of samples around them, so use e.g. stream 0 for train
// and 1 for test. Samples are drawn in order: a smaller count gives a prefix of a larger one.
ImageSet make_synthetic_images(std::int64_t count, int channels, int rows, int cols,
                               int num_classes, std::uint64_t seed, std::uint64_t stream = 0);

// Walks on a random sparse Markov chain over `vocab` (>= 2) tokens: each token has
// min(vocab, 4) possible successors with random probabilities, one of them on a random cycle
// through all tokens so every token is reachable. train holds `length` tokens, test
// max(1, length / 10) from an independent walk (empty when length is 0). Token names are
// "t0", "t1", ...; there is no <unk> or <eos>.
TokenCorpus make_synthetic_tokens(std::int64_t length, int vocab, std::uint64_t seed);

}  // namespace edgesim
