#pragma once
// Flat binary encoding shared by checkpoints and MPI messages: plain values, length-prefixed
// strings and float arrays appended to one contiguous buffer, and read back with the offset of
// any truncation named (a corrupt file or message says where it went wrong).
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"

namespace edgesim {

class ByteWriter {
 public:
  template <class T>
  void pod(const T& v) { bytes(&v, sizeof v); }
  void bytes(const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void floats(const float* p, std::size_t n) {
    pod<std::uint64_t>(n);
    bytes(p, n * sizeof(float));
  }
  void floats(const std::vector<float>& v) { floats(v.data(), v.size()); }
  template <class T>
  void list(const std::vector<T>& v) {
    pod<std::uint64_t>(v.size());
    bytes(v.data(), v.size() * sizeof(T));
  }
  std::string out;
};

class ByteReader {
 public:
  // `origin` names the file or message in errors.
  ByteReader(const char* data, std::size_t size, std::string origin) : data_(data), size_(size), origin_(std::move(origin)) {}
  template <class T>
  T pod(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  std::string str(const char* what) {
    const auto n = pod<std::uint64_t>(what);
    return std::string(take(n, what), n);
  }
  // A float array's count, then its bytes (read them with take(count * 4)).
  std::uint64_t float_count(const char* what) {
    const auto n = pod<std::uint64_t>(what);
    if (n > (1ull << 40)) throw InputError(origin_ + ": corrupt: " + what + " size " + std::to_string(n));
    return n;
  }
  std::vector<float> floats(const char* what) {
    const auto n = float_count(what);
    std::vector<float> v(n);
    std::memcpy(v.data(), take(n * sizeof(float), what), n * sizeof(float));
    return v;
  }
  template <class T>
  std::vector<T> list(const char* what) {
    const auto n = float_count(what);
    std::vector<T> v(n);
    std::memcpy(v.data(), take(n * sizeof(T), what), n * sizeof(T));
    return v;
  }
  const char* take(std::size_t n, const char* what) {
    if (n > size_ - pos_)
      throw InputError(origin_ + ": truncated at byte " + std::to_string(pos_) + " while reading " + what);
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  bool at_end() const { return pos_ == size_; }
  std::size_t pos() const { return pos_; }

 private:
  const char* data_;
  std::size_t size_;
  std::string origin_;
  std::size_t pos_ = 0;
};

}  // namespace edgesim
