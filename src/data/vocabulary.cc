#include "data/vocabulary.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/file.h"

namespace funnel::data {
namespace {
constexpr char kMagic[8] = {'F', 'N', 'L', 'V', 'O', 'C', 'A', 'B'};
constexpr uint32_t kVersion = 1;
}  // namespace

Vocabulary Vocabulary::from_counts(const KeyMap<uint64_t>& counts, int64_t min_count) {
  Vocabulary v;
  v.kind_ = Kind::kCounted;
  v.min_count_ = min_count;
  std::vector<std::pair<uint64_t, uint64_t>> kept;  // (count, key)
  counts.for_each([&](uint64_t key, uint64_t count) {
    ++v.distinct_seen_;
    v.total_occurrences_ += count;
    if (count >= static_cast<uint64_t>(min_count)) kept.emplace_back(count, key);
  });
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  FUNNEL_CHECK(kept.size() < (uint64_t{1} << 32) - 1, "vocabulary too large for 32-bit ids");
  v.keys_.reserve(kept.size());
  v.counts_.reserve(kept.size());
  v.ids_ = KeyMap<uint32_t>(kept.size() + 16);
  for (size_t i = 0; i < kept.size(); ++i) {
    v.keys_.push_back(kept[i].second);
    v.counts_.push_back(kept[i].first);
    v.ids_[kept[i].second] = static_cast<uint32_t>(i + 1);
    v.kept_occurrences_ += kept[i].first;
  }
  v.size_ = kept.size() + 1;
  return v;
}

Vocabulary Vocabulary::hashed(uint64_t buckets) {
  FUNNEL_CHECK(buckets >= 2, "hash_buckets must be >= 2, got " << buckets);
  Vocabulary v;
  v.kind_ = Kind::kHashed;
  v.size_ = buckets;
  return v;
}

Vocabulary Vocabulary::identity(uint64_t size) {
  Vocabulary v;
  v.kind_ = Kind::kIdentity;
  v.size_ = size;
  return v;
}

std::string Vocabulary::serialize() const {
  std::string out;
  auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  put(kMagic, sizeof kMagic);
  put(&kVersion, 4);
  const auto kind = static_cast<uint32_t>(kind_);
  put(&kind, 4);
  put(&size_, 8);
  put(&min_count_, 8);
  put(&distinct_seen_, 8);
  put(&kept_occurrences_, 8);
  put(&total_occurrences_, 8);
  const uint64_t n = keys_.size();
  put(&n, 8);
  put(keys_.data(), n * sizeof(uint64_t));
  put(counts_.data(), n * sizeof(uint64_t));
  return out;
}

void Vocabulary::save(const std::string& path) const { write_text_file_atomic(path, serialize()); }

Vocabulary Vocabulary::load(const std::string& path) {
  MappedFile f(path);
  return deserialize(std::string_view(f.data(), f.size()), path);
}

Vocabulary Vocabulary::deserialize(std::string_view bytes, const std::string& path) {
  const char* p = bytes.data();
  uint64_t left = bytes.size();
  auto take = [&](void* out, uint64_t n) {
    if (left < n) throw Error(path + ": vocabulary is truncated");
    if (n == 0) return;  // (an empty vector's data() may be null: memcpy must not see it)
    std::memcpy(out, p, n);
    p += n;
    left -= n;
  };
  char magic[8];
  take(magic, 8);
  if (std::memcmp(magic, kMagic, 8) != 0) throw Error(path + ": not a Funnel vocabulary");
  uint32_t version, kind;
  take(&version, 4);
  if (version != kVersion) {
    throw Error(path + ": vocabulary format version " + std::to_string(version) +
                ", this build reads version " + std::to_string(kVersion));
  }
  take(&kind, 4);
  Vocabulary v;
  if (kind < 1 || kind > 3) throw Error(path + ": unknown vocabulary kind " + std::to_string(kind));
  v.kind_ = static_cast<Kind>(kind);
  take(&v.size_, 8);
  take(&v.min_count_, 8);
  take(&v.distinct_seen_, 8);
  take(&v.kept_occurrences_, 8);
  take(&v.total_occurrences_, 8);
  uint64_t n;
  take(&n, 8);
  if (n > left / 16) throw Error(path + ": vocabulary is truncated");
  v.keys_.resize(n);
  v.counts_.resize(n);
  take(v.keys_.data(), n * 8);
  take(v.counts_.data(), n * 8);
  if (left != 0) throw Error(path + ": trailing bytes after the vocabulary");
  if (v.kind_ == Kind::kCounted) {
    if (v.size_ != n + 1) throw Error(path + ": vocabulary size does not match its keys");
    v.ids_ = KeyMap<uint32_t>(n + 16);
    for (uint64_t i = 0; i < n; ++i) v.ids_[v.keys_[i]] = static_cast<uint32_t>(i + 1);
  } else if (v.size_ < 1 || (v.kind_ == Kind::kHashed && v.size_ < 2)) {
    throw Error(path + ": invalid vocabulary size");
  }
  return v;
}

}  // namespace funnel::data
