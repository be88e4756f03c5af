#pragma once
// Open-addressing hash map from nonzero 64-bit keys to small values: the counting table of
// vocabulary building and the key -> id table of a vocabulary. Keys are already well-mixed
// hashes, so the slot is the key's low bits; linear probing; grows at 1/2 load.
// Key and value share one slot (one cache miss per lookup), and large tables come zeroed from
// the kernel in huge pages: on the VMs we measured, first-touch faults of 4 KiB pages cost
// more than the counting itself.

#include <cstdint>
#include <cstring>
#include <utility>

#include "core/zeroed_array.h"

namespace funnel::data {

template <typename Value>
class KeyMap {
 public:
  explicit KeyMap(size_t initial_capacity = 1024)
      : slots_(round_up(initial_capacity * 2)), mask_(slots_.size() - 1) {}
  KeyMap(KeyMap&&) noexcept = default;
  KeyMap& operator=(KeyMap&&) noexcept = default;

  /// Reference to the value of `key` (value-initialised on first use). `key` must be nonzero.
  Value& operator[](uint64_t key) {
    size_t i = key & mask_;
    for (;;) {
      Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == 0) {
        if ((size_ + 1) * 2 > slots_.size()) {
          grow();
          return (*this)[key];
        }
        s.key = key;
        ++size_;
        return s.value;
      }
      i = (i + 1) & mask_;
    }
  }

  /// Pointer to the value, or nullptr when absent.
  const Value* find(uint64_t key) const {
    size_t i = key & mask_;
    for (;;) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == 0) return nullptr;
      i = (i + 1) & mask_;
    }
  }

  /// Starts loading the slot of `key` into cache. Issuing this for several keys before using
  /// them overlaps their cache misses (large tables miss on almost every lookup).
  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[key & mask_]); }

  /// Empties the map, keeping its capacity (reusing a large table costs a memset instead of
  /// fresh pages, which are slow to fault in on some machines).
  void clear() {
    std::memset(static_cast<void*>(slots_.data()), 0, slots_.bytes());
    size_ = 0;
  }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size() / 2; }
  size_t memory_bytes() const { return slots_.size() * sizeof(Slot); }

  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].key != 0) f(slots_[i].key, slots_[i].value);
    }
  }
  /// f(key, Value&): may change the values (e.g. counts into ids), not the keys.
  template <typename F>
  void for_each_value(F&& f) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].key != 0) f(slots_[i].key, slots_[i].value);
    }
  }

 private:
  struct Slot {
    uint64_t key;
    Value value;
  };

  static size_t round_up(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
  }

  void grow() {
    ZeroedArray<Slot> old(slots_.size() * 2);
    std::swap(old, slots_);
    mask_ = slots_.size() - 1;
    for (size_t j = 0; j < old.size(); ++j) {
      if (old[j].key == 0) continue;
      size_t i = old[j].key & mask_;
      while (slots_[i].key != 0) i = (i + 1) & mask_;
      slots_[i] = old[j];
    }
  }

  ZeroedArray<Slot> slots_;  // key 0 marks an empty slot
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace funnel::data
