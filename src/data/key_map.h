#pragma once
// Open-addressing hash map from nonzero 64-bit keys to small values: the counting table of
// vocabulary building and the key -> id table of a vocabulary. Keys are already well-mixed
// hashes, so the slot is the key's low bits; linear probing; grows at 1/2 load.
// ~16 bytes per slot for uint64 values: 10 M distinct ids take ~256-512 MB while counting.

#include <cstdint>
#include <vector>

#include "core/error.h"

namespace funnel::data {

template <typename Value>
class KeyMap {
 public:
  explicit KeyMap(size_t initial_capacity = 1024) { rehash(round_up(initial_capacity * 2)); }

  /// Reference to the value of `key` (value-initialised on first use). `key` must be nonzero.
  Value& operator[](uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) rehash(keys_.size() * 2);
    size_t i = key & mask_;
    for (;;) {
      if (keys_[i] == key) return values_[i];
      if (keys_[i] == 0) {
        keys_[i] = key;
        ++size_;
        return values_[i];
      }
      i = (i + 1) & mask_;
    }
  }

  /// Pointer to the value, or nullptr when absent.
  const Value* find(uint64_t key) const {
    size_t i = key & mask_;
    for (;;) {
      if (keys_[i] == key) return &values_[i];
      if (keys_[i] == 0) return nullptr;
      i = (i + 1) & mask_;
    }
  }

  size_t size() const { return size_; }
  size_t memory_bytes() const { return keys_.size() * (sizeof(uint64_t) + sizeof(Value)); }

  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (keys_[i] != 0) f(keys_[i], values_[i]);
    }
  }

 private:
  static size_t round_up(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
  }

  void rehash(size_t capacity) {
    std::vector<uint64_t> old_keys(capacity, 0);
    std::vector<Value> old_values(capacity, Value{});
    old_keys.swap(keys_);
    old_values.swap(values_);
    mask_ = capacity - 1;
    for (size_t j = 0; j < old_keys.size(); ++j) {
      if (old_keys[j] == 0) continue;
      size_t i = old_keys[j] & mask_;
      while (keys_[i] != 0) i = (i + 1) & mask_;
      keys_[i] = old_keys[j];
      values_[i] = old_values[j];
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace funnel::data
