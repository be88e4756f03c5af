#pragma once
// Per-field vocabulary: maps a value's 64-bit key (hash of its bytes) to a dense id.
// Built on the training split only and applied unchanged to validation, test and prediction
// input. Id 0 is shared by missing, rare and unseen values.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/key_map.h"

namespace funnel::data {

class Vocabulary {
 public:
  enum class Kind : uint32_t {
    /// Ids of values seen at least min_count times in training, most frequent first.
    kCounted = 1,
    /// No table: id = 1 + key % (size - 1).
    kHashed = 2,
    /// Keys are already ids in [0, size) (bucketised numeric fields).
    kIdentity = 3,
  };

  Vocabulary() = default;

  /// Keeps keys with count >= min_count; ids by descending count (ties by key), so frequent
  /// values get small ids (better locality in embedding tables).
  static Vocabulary from_counts(const KeyMap<uint64_t>& counts, int64_t min_count);
  static Vocabulary hashed(uint64_t buckets);
  static Vocabulary identity(uint64_t size);

  /// Id of a key; 0 when the value is rare or unseen.
  uint32_t id(uint64_t key) const {
    switch (kind_) {
      case Kind::kCounted: {
        const uint32_t* v = ids_.find(key);
        return v == nullptr ? 0 : *v;
      }
      case Kind::kHashed: return static_cast<uint32_t>(1 + key % (size_ - 1));
      case Kind::kIdentity: return key < size_ ? static_cast<uint32_t>(key) : 0;
    }
    return 0;
  }

  /// Cache prefetch for id(key) (see KeyMap::prefetch).
  void prefetch(uint64_t key) const {
    if (kind_ == Kind::kCounted) ids_.prefetch(key);
  }

  /// Number of ids including 0 (the embedding table's row count).
  uint64_t size() const { return size_; }
  Kind kind() const { return kind_; }
  /// Counted vocabularies: distinct values seen in training, and how many were kept.
  uint64_t distinct_seen() const { return distinct_seen_; }
  /// Training occurrences of kept values / of all values (coverage).
  uint64_t kept_occurrences() const { return kept_occurrences_; }
  uint64_t total_occurrences() const { return total_occurrences_; }
  int64_t min_count() const { return min_count_; }

  /// Binary form: magic, version, kind, size, then (counted) keys and counts in id order.
  std::string serialize() const;
  /// Parses serialize()'s bytes; `what` names the source in errors (file, bundle section).
  static Vocabulary deserialize(std::string_view bytes, const std::string& what);
  void save(const std::string& path) const;
  static Vocabulary load(const std::string& path);

 private:
  Kind kind_ = Kind::kIdentity;
  uint64_t size_ = 1;
  int64_t min_count_ = 0;
  uint64_t distinct_seen_ = 0;
  uint64_t kept_occurrences_ = 0;
  uint64_t total_occurrences_ = 0;
  std::vector<uint64_t> keys_;    // id - 1 -> key
  std::vector<uint64_t> counts_;  // id - 1 -> training count
  KeyMap<uint32_t> ids_{16};
};

}  // namespace funnel::data
