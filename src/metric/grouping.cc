#include "metric/grouping.h"

#include <limits>

#include "core/error.h"
#include "core/hash.h"

namespace funnel::metric {
namespace {

// Open addressing with linear probing: key -> dense id. std::unordered_map allocates a node
// per group and chases a pointer per lookup; this is one probe into two flat arrays.
class KeyIndex {
 public:
  explicit KeyIndex(size_t expected) { rehash(capacity_for(expected)); }

  /// Dense id of `key`, assigning the next id on first sight.
  uint32_t find_or_insert(uint64_t key, std::vector<uint64_t>& keys) {
    size_t slot = mix64(key) & mask_;
    while (ids_[slot] != kEmpty) {
      if (slots_[slot] == key) return ids_[slot];
      slot = (slot + 1) & mask_;
    }
    const auto id = static_cast<uint32_t>(keys.size());
    keys.push_back(key);
    slots_[slot] = key;
    ids_[slot] = id;
    if (2 * keys.size() > ids_.size()) rehash(2 * ids_.size());
    return id;
  }

 private:
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

  static size_t capacity_for(size_t expected) {
    size_t c = 1024;
    while (c < 2 * expected) c *= 2;
    return c;
  }

  void rehash(size_t capacity) {
    std::vector<uint64_t> old_slots;
    std::vector<uint32_t> old_ids;
    old_slots.swap(slots_);
    old_ids.swap(ids_);
    slots_.assign(capacity, 0);
    ids_.assign(capacity, kEmpty);
    mask_ = capacity - 1;
    for (size_t s = 0; s < old_ids.size(); ++s) {
      if (old_ids[s] == kEmpty) continue;
      size_t slot = mix64(old_slots[s]) & mask_;
      while (ids_[slot] != kEmpty) slot = (slot + 1) & mask_;
      slots_[slot] = old_slots[s];
      ids_[slot] = old_ids[s];
    }
  }

  std::vector<uint64_t> slots_;
  std::vector<uint32_t> ids_;
  size_t mask_ = 0;
};

}  // namespace

std::vector<uint32_t> Grouping::order() const {
  std::vector<size_t> cursor(offsets.begin(), offsets.end() - 1);
  std::vector<uint32_t> rows(group_of_row.size());
  for (size_t i = 0; i < group_of_row.size(); ++i) {
    rows[cursor[group_of_row[i]]++] = static_cast<uint32_t>(i);
  }
  return rows;
}

Grouping group_rows(const uint64_t* keys, size_t n) {
  FUNNEL_CHECK(n < std::numeric_limits<uint32_t>::max(),
               "metric: grouping supports fewer than 2^32-1 rows, got " << n);
  Grouping g(n);
  KeyIndex index(1024);
  // Logs often keep a user's rows together: reuse the last id while the key repeats.
  uint64_t last_key = 0;
  uint32_t last_id = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i == 0 || keys[i] != last_key) {
      last_key = keys[i];
      last_id = index.find_or_insert(last_key, g.keys);
    }
    g.group_of_row[i] = last_id;
  }
  g.offsets.assign(g.keys.size() + 1, 0);
  for (size_t i = 0; i < n; ++i) ++g.offsets[g.group_of_row[i] + 1];
  for (size_t k = 1; k < g.offsets.size(); ++k) g.offsets[k] += g.offsets[k - 1];
  return g;
}

}  // namespace funnel::metric
