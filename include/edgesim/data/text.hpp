#pragma once
// Token streams for next-token prediction, read from plain-text corpora, and the windows that
// turn a stream into training samples. The file loaders reserve id 0 for <unk> and id 1 for
// <eos>; every id in a corpus is below vocab_size. Unreadable or binary files raise
// InputError naming the file (and the byte offset, for content problems).
#include <cstdint>
#include <string>
#include <vector>

#include "edgesim/common/rng.hpp"

namespace edgesim {

struct TokenCorpus {
  std::vector<std::int32_t> train, test;
  std::int32_t vocab_size = 0;      // == vocab.size()
  std::vector<std::string> vocab;   // id -> token text (a single byte for character level)
  std::vector<std::int32_t> valid;  // only WikiText ships a validation split; else empty
};

inline constexpr std::int32_t kUnkId = 0;
inline constexpr std::int32_t kEosId = 1;
inline constexpr char kFortunesDir[] = "/usr/share/games/fortunes";  // Debian's `fortunes`

// Byte-level corpus from fortune files: every regular file in dir except *.dat (strfile
// indexes) and symlinks (Debian's *.u8 links would duplicate the text), in sorted name order.
// Fortunes are separated by lines holding just "%"; blank fortunes are skipped. Fortune i
// (counted over all files) goes to test when i % 10 == 9, else to train; each is followed by
// <eos>. The vocabulary is <unk>, <eos>, then each byte occurring at least min_count times in
// train, in byte order; other bytes become <unk>. max_chars > 0 keeps only the first
// max_chars bytes of fortune text (cutting the last fortune) and reads no further files.
TokenCorpus load_fortunes_corpus(const std::string& dir = kFortunesDir,
                                 std::int64_t max_chars = 0, std::int64_t min_count = 1);

// Word-level WikiText-2/-103 from wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens in
// dir. Every line, empty ones included, is split on ASCII whitespace and gets <eos> appended,
// as in PyTorch's word_language_model example. The vocabulary is <unk>, <eos>, then train's
// words in order of first appearance; valid and test words not in it become <unk>.
TokenCorpus load_wikitext(const std::string& dir);

// Start offsets of the language-model samples in a stream of num_tokens tokens. Window k
// starts at k * seq_len and spans seq_len + 1 tokens: input = tokens [s, s + seq_len),
// target = [s + 1, s + seq_len + 1). Neighbouring windows share one token, so every token but
// the first is a target exactly once; a tail too short for a full window is dropped.
std::vector<std::int64_t> lm_windows(std::int64_t num_tokens, int seq_len);

// Shuffle the windows, then deal equal shares (sizes differ by at most one), like
// partition_iid. Returns [device] -> window start offsets, sorted.
std::vector<std::vector<std::int64_t>> partition_windows_iid(
    const std::vector<std::int64_t>& windows, int num_devices, Rng& rng);

}  // namespace edgesim
