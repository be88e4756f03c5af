#include "data/batch_builder.h"

#include <cmath>

#include "core/error.h"

namespace funnel::data {

BatchBuilder::BatchBuilder(const Layout& layout, const std::vector<Vocabulary>& vocabs,
                           std::vector<float> dense_mean, std::vector<float> dense_std)
    : layout_(layout), vocabs_(vocabs), mean_(std::move(dense_mean)) {
  FUNNEL_CHECK(vocabs.size() == layout.sparse.size(),
               "batch builder: " << vocabs.size() << " vocabularies for " << layout.sparse.size()
                                 << " sparse fields");
  FUNNEL_CHECK(mean_.size() == layout.dense.size() && dense_std.size() == layout.dense.size(),
               "batch builder: dense statistics do not match the layout");
  for (float s : dense_std) inv_std_.push_back(s > 0 ? 1.0f / s : 0.0f);
  clear();
}

void BatchBuilder::clear() {
  batch_ = Batch();
  batch_.num_events = layout_.num_events();
  batch_.num_dense = layout_.dense.size();
  batch_.num_aux = layout_.aux.size();
  batch_.sparse.resize(layout_.sparse.size());
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    if (layout_.sparse[f].multi) batch_.sparse[f].offsets.push_back(0);
  }
  labels_.assign(layout_.num_events(), {});
  list_starts_.clear();
}

void BatchBuilder::add(const EncodedRow& row, uint64_t row_index, std::vector<uint64_t>* unknown) {
  for (size_t e = 0; e < labels_.size(); ++e) {
    labels_[e].push_back(e < row.labels.size() ? row.labels[e] : 0.0f);
  }
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    SparseBatch& sb = batch_.sparse[f];
    const Vocabulary& v = vocabs_[f];
    const bool count = unknown != nullptr && !layout_.sparse[f].bucketized;
    if (!layout_.sparse[f].multi) {
      const uint32_t id = row.single[f] == 0 ? 0 : v.id(row.single[f]);
      if (count && id == 0 && row.single[f] != 0) ++(*unknown)[f];
      sb.ids.push_back(id);
      continue;
    }
    for (uint64_t k : row.keys[f]) {
      const uint32_t id = v.id(k);
      if (count && id == 0 && k != 0) ++(*unknown)[f];
      sb.ids.push_back(id);
    }
    if (layout_.sparse[f].weighted) {
      sb.weights.insert(sb.weights.end(), row.weights[f].begin(), row.weights[f].end());
    }
    sb.offsets.push_back(sb.ids.size());
  }
  for (size_t d = 0; d < layout_.dense.size(); ++d) {
    const float x = row.dense[d];
    // ESM2 eq. 17 with the training statistics; a missing value sits at the mean.
    batch_.dense.push_back(std::isnan(x) ? 0.0f : std::tanh((x - mean_[d]) * inv_std_[d]));
  }
  if (layout_.has_group) batch_.group.push_back(row.group);
  if (layout_.has_list) batch_.list.push_back(row.list);
  if (layout_.has_position) batch_.position.push_back(row.position);
  if (layout_.has_timestamp) batch_.timestamp.push_back(row.timestamp);
  batch_.aux.insert(batch_.aux.end(), row.aux.begin(), row.aux.end());
  batch_.row.push_back(row_index);
  ++batch_.size;
}

const Batch& BatchBuilder::batch() {
  batch_.labels.clear();
  for (const auto& l : labels_) batch_.labels.insert(batch_.labels.end(), l.begin(), l.end());
  batch_.list_offsets.clear();
  if (!list_starts_.empty()) {
    FUNNEL_CHECK(list_starts_.front() == 0, "batch builder: rows before the first list");
    batch_.list_offsets = list_starts_;
    batch_.list_offsets.push_back(batch_.size);
  }
  return batch_;
}

}  // namespace funnel::data
