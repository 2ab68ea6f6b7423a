#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/data/text.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using namespace edgesim::test_support;
using edgesim::TokenCorpus;
using Ids = std::vector<std::int32_t>;

namespace {

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

// Token stream as text: <eos> -> "|", <unk> -> "?", others by their vocabulary entry.
std::string decode(const TokenCorpus& c, const Ids& ids) {
  std::string out;
  for (std::int32_t id : ids) {
    REQUIRE(id >= 0);
    REQUIRE(id < c.vocab_size);
    out += id == edgesim::kEosId ? "|" : id == edgesim::kUnkId ? "?" : c.vocab[id];
  }
  return out;
}

// Words joined by spaces, for checking word-level streams.
std::string words(const TokenCorpus& c, const Ids& ids) {
  std::string out;
  for (std::int32_t id : ids) out += (out.empty() ? "" : " ") + c.vocab.at(id);
  return out;
}

// Twelve fortunes in two files, plus the things a fortune directory also holds that must be
// skipped: a strfile index (with NUL bytes, so reading it would fail), a *.u8 symlink and a
// subdirectory. Fortune 9 ("Ten") is the only test fortune.
void write_fortunes(const TempDir& dir) {
  write_file(dir.file("b"),
             "five\n%\n%\nsix\n%\nseven\n%\neight\n%\nnine\n%\nTen\n%\neleven\n%\ntwelve\n%\n");
  write_file(dir.file("a"), "one\n%\ntwo\nlines\n%\n%not a separator\n%\n  \n%\nfour\n");
  write_file(dir.file("a.dat"), std::string("\0\0\0\2", 4));
  std::filesystem::create_symlink("a", dir.file("a.u8"));
  std::filesystem::create_directory(dir.file("off"));
  write_file(dir.file("off/zzz"), "offensive\n%\n");
}

const char* const kFortunesTrain =
    "one|two\nlines|%not a separator|four|five|six|seven|eight|nine|eleven|twelve|";

}  // namespace

TEST_CASE("load_fortunes_corpus splits fortunes, skips index files and symlinks", "[text]") {
  TempDir dir;
  write_fortunes(dir);
  const TokenCorpus c = edgesim::load_fortunes_corpus(dir.path.string());
  CHECK(c.vocab_size == std::int32_t(c.vocab.size()));
  REQUIRE(c.vocab.size() > 3);
  CHECK(c.vocab[0] == "<unk>");
  CHECK(c.vocab[1] == "<eos>");
  CHECK(c.vocab[2] == "\n");  // bytes in ascending order after the two specials
  CHECK(std::is_sorted(c.vocab.begin() + 2, c.vocab.end()));
  CHECK(std::all_of(c.vocab.begin() + 2, c.vocab.end(), [](auto& s) { return s.size() == 1; }));
  CHECK(decode(c, c.train) == kFortunesTrain);
  // 'T' never occurs in train, so it is <unk> in test.
  CHECK(decode(c, c.test) == "?en|");
  CHECK(c.valid.empty());
}

TEST_CASE("load_fortunes_corpus maps rare bytes to <unk> with min_count", "[text]") {
  TempDir dir;
  write_fortunes(dir);
  const TokenCorpus c = edgesim::load_fortunes_corpus(dir.path.string(), 0, 2);
  CHECK(std::count(c.vocab.begin(), c.vocab.end(), "%") == 0);  // once in train
  CHECK(std::count(c.vocab.begin(), c.vocab.end(), "p") == 0);
  CHECK(std::count(c.vocab.begin(), c.vocab.end(), "e") == 1);
  CHECK_THAT(decode(c, c.train), Contains("|?not a se?arator|"));
  CHECK_THAT(input_error_of([&] { edgesim::load_fortunes_corpus(dir.path.string(), 0, 0); }),
             Contains("min_count"));
  CHECK_THAT(input_error_of([&] { edgesim::load_fortunes_corpus(dir.path.string(), -1); }),
             Contains("max_chars"));
}

TEST_CASE("load_fortunes_corpus's max_chars cuts the text and reads no further files",
          "[text]") {
  TempDir dir;
  write_fortunes(dir);
  const std::string binary = dir.file("c");
  write_file(binary, std::string("ok\n%\n\0", 6));
  const std::string d = dir.path.string();

  const TokenCorpus c = edgesim::load_fortunes_corpus(d, 5);
  CHECK(decode(c, c.train) == "one|tw|");
  CHECK(c.test.empty());
  const TokenCorpus whole = edgesim::load_fortunes_corpus(d, 36);  // ends at a fortune's end
  CHECK(decode(whole, whole.train) == "one|two\nlines|%not a separator|four|five|");

  CHECK(input_error_of([&] { edgesim::load_fortunes_corpus(d); }) ==
        binary + ": NUL byte at byte 5: expected a text file");
}

TEST_CASE("load_fortunes_corpus errors name the directory", "[text]") {
  TempDir dir;
  const std::string missing = dir.file("nope");
  CHECK_THAT(input_error_of([&] { edgesim::load_fortunes_corpus(missing); }),
             Contains(missing) && Contains("cannot list") && Contains("fortunes package"));
  write_file(dir.file("empty"), "%\n\n%\n");
  CHECK_THAT(input_error_of([&] { edgesim::load_fortunes_corpus(dir.path.string()); }),
             Contains(dir.path.string()) && Contains("no fortunes found"));
}

// Not skipped when missing: scripts/install-deps.sh installs Debian's fortunes package, so a
// missing directory means a broken setup that should be noticed.
TEST_CASE("the installed fortunes corpus loads", "[text][fortunes]") {
  INFO(edgesim::kFortunesDir << " missing: run scripts/install-deps.sh (package 'fortunes')");
  REQUIRE(std::filesystem::is_directory(edgesim::kFortunesDir));
  const TokenCorpus c = edgesim::load_fortunes_corpus();
  CHECK(c.vocab_size > 90);  // printable ASCII, tab, newline and a few UTF-8 bytes
  CHECK(c.vocab_size < 200);
  CHECK(c.train.size() > 1000000);
  const double test_share = double(c.test.size()) / (c.train.size() + c.test.size());
  CHECK(test_share > 0.07);
  CHECK(test_share < 0.13);
  const auto eos = [](const Ids& ids) { return std::count(ids.begin(), ids.end(), 1); };
  CHECK(eos(c.train) > 10000);  // Debian 12 ships about 15000 fortunes
  CHECK(eos(c.train) / 9 - eos(c.test) <= 1);
  CHECK(eos(c.test) - eos(c.train) / 9 <= 1);

  // The stream starts with the first fortune of the alphabetically first file.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(edgesim::kFortunesDir)) {
    const std::string name = e.path().filename().string();
    const bool dat = name.size() >= 4 && name.compare(name.size() - 4, 4, ".dat") == 0;
    if (e.is_regular_file() && !e.is_symlink() && !dat) {
      names.push_back(e.path().string());
    }
  }
  REQUIRE(!names.empty());
  std::ifstream first(*std::min_element(names.begin(), names.end()), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(first)), std::istreambuf_iterator<char>());
  const std::string fortune = text.substr(0, text.find("\n%\n"));
  const std::string decoded = decode(c, Ids(c.train.begin(), c.train.begin() + fortune.size() + 1));
  CHECK(decoded == fortune + "|");
}

TEST_CASE("load_wikitext appends <eos> per line and builds the vocabulary from train",
          "[text]") {
  TempDir dir;
  write_file(dir.file("wiki.train.tokens"), " = Title = \n \n a b a\tc\n d <unk> @-@ b \n");
  write_file(dir.file("wiki.valid.tokens"), " a zebra \n");
  write_file(dir.file("wiki.test.tokens"), "c\n\nTitle  b");  // no final newline

  const TokenCorpus c = edgesim::load_wikitext(dir.path.string());
  CHECK(c.vocab == std::vector<std::string>{"<unk>", "<eos>", "=", "Title", "a", "b", "c", "d",
                                            "@-@"});
  CHECK(c.vocab_size == 9);
  CHECK(words(c, c.train) ==
        "= Title = <eos> <eos> a b a c <eos> d <unk> @-@ b <eos>");
  CHECK(c.train == Ids{2, 3, 2, 1, 1, 4, 5, 4, 6, 1, 7, 0, 8, 5, 1});
  CHECK(c.valid == Ids{4, 0, 1});
  CHECK(words(c, c.test) == "c <eos> <eos> Title b <eos>");
}

TEST_CASE("load_wikitext errors name the file", "[text]") {
  TempDir dir;
  const std::string d = dir.path.string();
  write_file(dir.file("wiki.train.tokens"), "a b\n");
  write_file(dir.file("wiki.test.tokens"), "a\n");

  SECTION("missing file") {
    CHECK(input_error_of([&] { edgesim::load_wikitext(d); }) ==
          dir.file("wiki.valid.tokens") + ": cannot open: No such file or directory; " + d +
              " should contain wiki.train.tokens, wiki.valid.tokens and wiki.test.tokens "
              "(WikiText-2 or WikiText-103, word level)");
  }
  SECTION("binary file") {
    write_file(dir.file("wiki.valid.tokens"), std::string("a b\0c", 5));
    CHECK(input_error_of([&] { edgesim::load_wikitext(d); }) ==
          dir.file("wiki.valid.tokens") + ": NUL byte at byte 3: expected a text file");
  }
  SECTION("empty train") {
    write_file(dir.file("wiki.valid.tokens"), "a\n");
    write_file(dir.file("wiki.train.tokens"), "");
    CHECK_THAT(input_error_of([&] { edgesim::load_wikitext(d); }),
               Contains(dir.file("wiki.train.tokens")) && Contains("is empty"));
  }
}

TEST_CASE("lm_windows cuts seq_len + 1 token windows that overlap by one", "[text]") {
  using Starts = std::vector<std::int64_t>;
  CHECK(edgesim::lm_windows(10, 3) == Starts{0, 3, 6});  // last window is tokens 6..9
  CHECK(edgesim::lm_windows(9, 3) == Starts{0, 3});      // 6..9 would need a 10th token
  CHECK(edgesim::lm_windows(4, 3) == Starts{0});
  CHECK(edgesim::lm_windows(3, 3).empty());
  CHECK(edgesim::lm_windows(0, 3).empty());
  CHECK(edgesim::lm_windows(5, 1) == Starts{0, 1, 2, 3});
  CHECK_THAT(input_error_of([] { edgesim::lm_windows(10, 0); }), Contains("seq_len"));
  CHECK_THAT(input_error_of([] { edgesim::lm_windows(-1, 3); }), Contains("num_tokens"));
}

TEST_CASE("partition_windows_iid deals every window to exactly one device", "[text]") {
  const std::vector<std::int64_t> windows = edgesim::lm_windows(1001, 10);  // 100 windows
  edgesim::Rng rng(42, edgesim::Purpose::kPartition);
  const auto parts = edgesim::partition_windows_iid(windows, 7, rng);
  REQUIRE(parts.size() == 7);
  std::vector<std::int64_t> all;
  for (const auto& p : parts) {
    CHECK(std::is_sorted(p.begin(), p.end()));
    CHECK((p.size() == 14 || p.size() == 15));
    all.insert(all.end(), p.begin(), p.end());
  }
  std::sort(all.begin(), all.end());
  CHECK(all == windows);
  // Shuffled, not dealt in blocks: device 0 does not just get the first windows.
  CHECK(parts[0].back() > 14 * 10);

  edgesim::Rng same(42, edgesim::Purpose::kPartition);
  CHECK(edgesim::partition_windows_iid(windows, 7, same) == parts);

  CHECK_THAT(input_error_of([&] { edgesim::partition_windows_iid(windows, 101, rng); }),
             Contains("101 devices but only 100 windows"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_windows_iid(windows, 0, rng); }),
             Contains("num_devices"));
}
