#pragma once
// Shared helpers for the embed tests: owned CSR batches and a dense torch reference of a
// pooled lookup (index_select + weighted sum / mean per row, all in autograd).

#include <torch/nn/module.h>

#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "embed/embedding_table.h"
#include "embed/sparse_input.h"

namespace funnel::embed::testing {

/// An owned CSR field; view() borrows it.
struct Batch {
  std::vector<uint32_t> ids;
  std::vector<uint64_t> offsets{0};
  std::vector<float> weights;  // empty = all ones
  bool single_valued = false;

  void add_row(const std::vector<uint32_t>& row_ids, const std::vector<float>& row_weights = {}) {
    ids.insert(ids.end(), row_ids.begin(), row_ids.end());
    weights.insert(weights.end(), row_weights.begin(), row_weights.end());
    offsets.push_back(ids.size());
  }
  size_t batch_size() const { return single_valued ? ids.size() : offsets.size() - 1; }
  SparseInput view() const {
    SparseInput in;
    in.ids = ids.data();
    in.num_ids = ids.size();
    in.offsets = single_valued ? nullptr : offsets.data();
    in.weights = weights.empty() ? nullptr : weights.data();
    in.batch_size = batch_size();
    return in;
  }
};

/// Random multi-valued batch. Even rows hold the ids in `always` (so those table rows are
/// touched at every step) with always[0] twice; odd rows (all rows when `always` is empty)
/// hold up to `extra` random ids from [lo, hi). Keeping the two apart means the gradient of an
/// always-touched row never depends on a row that is touched only sometimes, which dense
/// Adam (momentum) and weight decay move between its visits while lazy optimizers do not.
inline Batch random_batch(Rng& rng, size_t batch_size, const std::vector<uint32_t>& always,
                          uint32_t lo, uint32_t hi, size_t extra, bool weighted) {
  Batch b;
  for (size_t r = 0; r < batch_size; ++r) {
    std::vector<uint32_t> ids;
    std::vector<float> w;
    if (r % 2 == 0 && !always.empty()) {
      ids = always;
      ids.push_back(always[0]);  // duplicate inside a bag (and across bags)
    } else {
      const size_t n = rng.below(extra + 1);
      for (size_t k = 0; k < n; ++k) {
        ids.push_back(lo + static_cast<uint32_t>(rng.below(hi - lo)));
      }
    }
    if (weighted) {
      for (size_t k = 0; k < ids.size(); ++k) w.push_back(static_cast<float>(0.5 + rng.uniform()));
    }
    b.add_row(ids, w);
  }
  return b;
}

/// Dense pooled lookup of `batch` from the [num_rows, dim] parameter `table`.
inline torch::Tensor dense_pool(const torch::Tensor& table, const Batch& batch, bool mean) {
  const SparseInput in = batch.view();
  std::vector<torch::Tensor> rows;
  for (size_t b = 0; b < in.batch_size; ++b) {
    const size_t begin = in.begin(b), end = in.end(b);
    if (begin == end) {
      rows.push_back(torch::zeros({table.size(1)}));
      continue;
    }
    std::vector<int64_t> idx(in.ids + begin, in.ids + end);
    torch::Tensor e = table.index_select(0, torch::tensor(idx, torch::kInt64));
    if (in.weights) {
      std::vector<float> w(in.weights + begin, in.weights + end);
      e = e * torch::tensor(w).unsqueeze(1);
    }
    torch::Tensor pooled = e.sum(0);
    if (mean) pooled = pooled / static_cast<double>(end - begin);
    rows.push_back(pooled);
  }
  return torch::stack(rows);
}

/// A non-linear loss of the pooled output, so that the gradient depends on the weights.
inline torch::Tensor test_loss(const torch::Tensor& pooled, const torch::Tensor& target) {
  return (torch::tanh(pooled * 3.0) * target).sum() + 0.5 * pooled.pow(2).sum();
}

/// The table's weights as a [num_rows, dim] tensor (a copy).
inline torch::Tensor weights_of(const EmbeddingTable& t) {
  return torch::from_blob(const_cast<float*>(t.data()),
                          {static_cast<int64_t>(t.num_rows()), static_cast<int64_t>(t.dim())})
      .clone();
}

}  // namespace funnel::embed::testing
