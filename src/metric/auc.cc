#include "metric/auc.h"

#include <limits>

#include "core/error.h"
#include "metric/input_check.h"
#include "metric/score_sort.h"
#include "core/scratch_array.h"

namespace funnel::metric {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double auc_of_sorted(const uint64_t* sorted, size_t n) {
  // Walk runs of equal scores in ascending order. A run with p positives and q negatives
  // above `neg_below` negatives adds p * neg_below wins and p * q ties. Counting in halves
  // keeps everything an exact integer; 128 bits because p * n reaches 2^64 near 2^32 rows.
  unsigned __int128 twice_wins = 0;
  uint64_t neg_below = 0;
  uint64_t positives = 0;
  size_t i = 0;
  while (i < n) {
    const uint32_t key = packed_key(sorted[i]);
    uint64_t p = 0;
    size_t j = i;
    for (; j < n && packed_key(sorted[j]) == key; ++j) p += packed_payload(sorted[j]);
    const uint64_t q = (j - i) - p;
    twice_wins +=
        static_cast<unsigned __int128>(2 * p) * neg_below + static_cast<unsigned __int128>(p) * q;
    neg_below += q;
    positives += p;
    i = j;
  }
  if (positives == 0 || neg_below == 0) return kNaN;
  const unsigned __int128 twice_pairs = static_cast<unsigned __int128>(2 * positives) * neg_below;
  return static_cast<double>(static_cast<long double>(twice_wins) /
                             static_cast<long double>(twice_pairs));
}

double auc(const float* scores, const float* labels, size_t n) {
  ScratchArray<uint64_t> packed(n);
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    check_label(labels[i], i);
    packed[i] = pack(score_key(scores[i]), labels[i] == 1.0f ? 1u : 0u);
  }
  ScratchArray<uint64_t> scratch(n);
  return auc_of_sorted(sort_packed(packed.data(), scratch.data(), n), n);
}

double auc(const float* scores, const float* labels, const float* weights, size_t n) {
  FUNNEL_CHECK(n <= std::numeric_limits<uint32_t>::max(),
               "metric: weighted AUC supports at most 2^32-1 rows, got " << n);
  // The payload is the row index; label and weight are gathered after sorting.
  ScratchArray<uint64_t> packed(n);
  for (size_t i = 0; i < n; ++i) {
    check_score(scores[i], i);
    check_label(labels[i], i);
    check_weight(weights[i], i);
    packed[i] = pack(score_key(scores[i]), static_cast<uint32_t>(i));
  }
  ScratchArray<uint64_t> scratch(n);
  const uint64_t* sorted = sort_packed(packed.data(), scratch.data(), n);
  // Same walk as auc_of_sorted with weights; double sums (relative error ~1e-15 per add).
  double wins = 0, neg_below = 0, pos_total = 0;
  size_t i = 0;
  while (i < n) {
    const uint32_t key = packed_key(sorted[i]);
    double p = 0, q = 0;
    size_t j = i;
    for (; j < n && packed_key(sorted[j]) == key; ++j) {
      const uint32_t row = packed_payload(sorted[j]);
      (labels[row] == 1.0f ? p : q) += weights[row];
    }
    wins += p * (neg_below + 0.5 * q);
    neg_below += q;
    pos_total += p;
    i = j;
  }
  if (pos_total == 0 || neg_below == 0) return kNaN;
  return wins / (pos_total * neg_below);
}

double auc(const std::vector<float>& scores, const std::vector<float>& labels) {
  check_same_size(scores, labels, "labels");
  return auc(scores.data(), labels.data(), scores.size());
}

double auc(const std::vector<float>& scores, const std::vector<float>& labels,
           const std::vector<float>& weights) {
  check_same_size(scores, labels, "labels");
  check_same_size(scores, weights, "weights");
  return auc(scores.data(), labels.data(), weights.data(), scores.size());
}

}  // namespace funnel::metric
