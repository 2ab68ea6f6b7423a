#include "edgesim/data/text.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

// `hint` is appended to "cannot open" so a missing file says what should have been there.
std::string read_text_file(const std::string& path, const std::string& hint = "") {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno) + hint);
  std::string text;
  char buf[1 << 16];
  std::size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, file.get())) > 0) text.append(buf, got);
  if (std::ferror(file.get())) fail(path, std::string("cannot read: ") + std::strerror(errno));
  // A NUL byte means a binary file (a .gz, a strfile index) slipped in; tokenizing it would
  // quietly pollute the vocabulary instead of failing.
  const std::size_t nul = text.find('\0');
  if (nul != std::string::npos) {
    fail(path, "NUL byte at byte " + std::to_string(nul) + ": expected a text file");
  }
  return text;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
}

std::vector<std::string> fortune_files(const std::string& dir) {
  const std::string advice =
      "; install Debian's fortunes package (scripts/install-deps.sh) or pass a directory of "
      "fortune files";
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw InputError(dir + ": cannot list the fortunes directory: " + ec.message() + advice);
  std::vector<std::string> paths;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) throw InputError(dir + ": cannot list the fortunes directory: " + ec.message());
    // symlink_status, not status: symlinks (Debian's *.u8 -> *) would count text twice.
    const auto type = it->symlink_status(ec).type();
    if (ec) throw InputError(it->path().string() + ": cannot stat: " + ec.message());
    if (type != std::filesystem::file_type::regular) continue;
    if (ends_with(it->path().filename().string(), ".dat")) continue;
    paths.push_back(it->path().string());
  }
  if (ec) throw InputError(dir + ": cannot list the fortunes directory: " + ec.message());
  std::sort(paths.begin(), paths.end());  // directory order differs between file systems
  return paths;
}

// Calls emit(fortune) for each fortune of a file (without its final newline) until emit
// returns false. Only a line that is exactly "%" separates: fortunes may start with "%...".
template <class Emit>
bool for_each_fortune(const std::string& text, Emit&& emit) {
  auto body = [&](std::size_t begin, std::size_t end) {
    std::string f = text.substr(begin, end - begin);
    if (!f.empty() && f.back() == '\n') f.pop_back();
    return f;
  };
  std::size_t start = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view line(text.data() + pos, eol - pos);
    if (line == "%" || line == "%\r") {
      if (!emit(body(start, pos))) return false;
      start = std::min(eol + 1, text.size());
    }
    pos = eol + 1;
  }
  return emit(body(start, text.size()));
}

using WordIds = std::unordered_map<std::string, std::int32_t>;

// One <eos> per line, as Python's `for line in f: line.split() + ['<eos>']` gives. With grow,
// unseen words join the vocabulary; without, they become <unk>.
std::vector<std::int32_t> tokenize_lines(const std::string& text, bool grow, WordIds& ids,
                                         std::vector<std::string>& vocab) {
  // str.split()'s ASCII whitespace, which includes the separators \x1c..\x1f.
  const char* const kSpace = " \t\r\v\f\x1c\x1d\x1e\x1f";
  std::vector<std::int32_t> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::string_view line(text.data() + pos, eol - pos);
    for (std::size_t w = line.find_first_not_of(kSpace); w != std::string_view::npos;) {
      const std::size_t end = std::min(line.find_first_of(kSpace, w), line.size());
      std::string word(line.substr(w, end - w));
      auto found = ids.find(word);
      if (found != ids.end()) {
        out.push_back(found->second);
      } else if (grow) {
        const auto id = static_cast<std::int32_t>(vocab.size());
        vocab.push_back(word);
        ids.emplace(std::move(word), id);
        out.push_back(id);
      } else {
        out.push_back(kUnkId);
      }
      w = line.find_first_not_of(kSpace, end);
    }
    out.push_back(kEosId);
    pos = eol + 1;
  }
  return out;
}

}  // namespace

TokenCorpus load_fortunes_corpus(const std::string& dir, std::int64_t max_chars,
                                 std::int64_t min_count) {
  if (max_chars < 0) {
    throw InputError("fortunes corpus: max_chars must be >= 0, got " + std::to_string(max_chars));
  }
  if (min_count < 1) {
    throw InputError("fortunes corpus: min_count must be >= 1, got " + std::to_string(min_count));
  }
  const std::int64_t budget = max_chars > 0 ? max_chars : std::numeric_limits<std::int64_t>::max();
  std::vector<std::string> train_text, test_text;
  std::int64_t index = 0, chars = 0;
  for (const std::string& path : fortune_files(dir)) {
    if (chars == budget) break;
    for_each_fortune(read_text_file(path), [&](std::string fortune) {
      if (is_blank(fortune)) return true;
      if (static_cast<std::int64_t>(fortune.size()) > budget - chars) {
        fortune.resize(budget - chars);
      }
      chars += fortune.size();
      (index++ % 10 == 9 ? test_text : train_text).push_back(std::move(fortune));
      return chars < budget;
    });
  }
  if (train_text.empty()) {
    throw InputError(dir + ": no fortunes found: expected text files with fortunes separated by "
                           "lines holding just '%'");
  }

  // Vocabulary from train only, so test bytes never seen in training are honest <unk>s.
  std::array<std::int64_t, 256> counts{};
  for (const std::string& f : train_text) {
    for (unsigned char c : f) ++counts[c];
  }
  TokenCorpus corpus;
  corpus.vocab = {"<unk>", "<eos>"};
  std::array<std::int32_t, 256> id;
  id.fill(kUnkId);
  for (int b = 0; b < 256; ++b) {
    if (counts[b] < min_count) continue;
    id[b] = static_cast<std::int32_t>(corpus.vocab.size());
    corpus.vocab.emplace_back(1, static_cast<char>(b));
  }
  corpus.vocab_size = static_cast<std::int32_t>(corpus.vocab.size());
  auto encode = [&](const std::vector<std::string>& fortunes, std::vector<std::int32_t>& out) {
    for (const std::string& f : fortunes) {
      for (unsigned char c : f) out.push_back(id[c]);
      out.push_back(kEosId);
    }
  };
  encode(train_text, corpus.train);
  encode(test_text, corpus.test);
  return corpus;
}

TokenCorpus load_wikitext(const std::string& dir) {
  const std::string hint = "; " + dir +
                           " should contain wiki.train.tokens, wiki.valid.tokens and "
                           "wiki.test.tokens (WikiText-2 or WikiText-103, word level)";
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  // Read all three before tokenizing so a missing file fails fast, not after the big one.
  const std::string train_path = path("wiki.train.tokens");
  const std::string train = read_text_file(train_path, hint);
  const std::string valid = read_text_file(path("wiki.valid.tokens"), hint);
  const std::string test = read_text_file(path("wiki.test.tokens"), hint);
  if (train.empty()) fail(train_path, "is empty: the vocabulary comes from the training text");

  TokenCorpus corpus;
  corpus.vocab = {"<unk>", "<eos>"};
  WordIds ids = {{"<unk>", kUnkId}, {"<eos>", kEosId}};
  corpus.train = tokenize_lines(train, true, ids, corpus.vocab);
  corpus.valid = tokenize_lines(valid, false, ids, corpus.vocab);
  corpus.test = tokenize_lines(test, false, ids, corpus.vocab);
  corpus.vocab_size = static_cast<std::int32_t>(corpus.vocab.size());
  return corpus;
}

std::vector<std::int64_t> lm_windows(std::int64_t num_tokens, int seq_len) {
  if (seq_len < 1) throw InputError("lm_windows: seq_len must be at least 1, got " +
                                    std::to_string(seq_len));
  if (num_tokens < 0) throw InputError("lm_windows: num_tokens must be >= 0, got " +
                                       std::to_string(num_tokens));
  const std::int64_t count = num_tokens > seq_len ? (num_tokens - 1) / seq_len : 0;
  std::vector<std::int64_t> starts(count);
  for (std::int64_t k = 0; k < count; ++k) starts[k] = k * seq_len;
  return starts;
}

std::vector<std::vector<std::int64_t>> partition_windows_iid(
    const std::vector<std::int64_t>& windows, int num_devices, Rng& rng) {
  if (num_devices < 1) {
    throw InputError("partition_windows_iid: num_devices must be at least 1, got " +
                     std::to_string(num_devices));
  }
  const std::size_t n = windows.size();
  if (static_cast<std::size_t>(num_devices) > n) {
    throw InputError("partition_windows_iid: " + std::to_string(num_devices) +
                     " devices but only " + std::to_string(n) +
                     " windows; every device needs at least one (use a shorter seq_len or "
                     "fewer devices)");
  }
  std::vector<std::int64_t> order = windows;
  rng.shuffle(order);
  std::vector<std::vector<std::int64_t>> owned(num_devices);
  const std::size_t base = n / num_devices, extra = n % num_devices;
  std::size_t start = 0;
  for (int d = 0; d < num_devices; ++d) {
    const std::size_t size = base + (static_cast<std::size_t>(d) < extra ? 1 : 0);
    owned[d].assign(order.begin() + start, order.begin() + start + size);
    std::sort(owned[d].begin(), owned[d].end());
    start += size;
  }
  return owned;
}

}  // namespace edgesim
