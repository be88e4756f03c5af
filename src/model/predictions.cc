#include "model/predictions.h"

#include <cmath>

#include "core/error.h"

namespace funnel::model {

PredictionCollector::PredictionCollector(const data::Layout& layout, bool with_truth,
                                         size_t expected_rows)
    : layout_(layout),
      with_truth_(with_truth),
      log_p_(layout.num_events()),
      labels_(layout.num_events()),
      truth_(with_truth ? layout.num_events() : 0) {
  FUNNEL_CHECK(!with_truth || layout.has_truth(),
               "predictions: the oracle needs a truth column for every event");
  for (size_t e = 0; e < layout.num_events(); ++e) {
    log_p_[e].reserve(expected_rows);
    labels_[e].reserve(expected_rows);
    if (with_truth) truth_[e].reserve(expected_rows);
  }
  if (layout.has_group) group_.reserve(expected_rows);
  if (layout.has_list) list_.reserve(expected_rows);
}

void PredictionCollector::add(const data::Batch& b, const BatchScores& s) {
  const size_t E = layout_.num_events();
  FUNNEL_CHECK(s.size == b.size && s.log_p.size() == E * b.size && b.num_events == E,
               "predictions: scores of " << s.size << " rows for a batch of " << b.size);
  size_t end = rows_;
  for (size_t i = 0; i < b.size; ++i) end = std::max<size_t>(end, b.row[i] + 1);
  if (end > rows_) {
    for (auto& v : log_p_) v.resize(end);
    for (auto& v : labels_) v.resize(end);
    for (auto& v : truth_) v.resize(end);
    if (layout_.has_group) group_.resize(end);
    if (layout_.has_list) list_.resize(end);
    rows_ = end;
  }
  std::vector<float> row_truth(with_truth_ ? E : 0);
  for (size_t i = 0; i < b.size; ++i) {
    const uint64_t r = b.row[i];
    for (size_t e = 0; e < E; ++e) {
      log_p_[e][r] = s.log_p[e * b.size + i];
      labels_[e][r] = b.labels[e * b.size + i];
    }
    if (layout_.has_group) group_[r] = b.group[i];
    if (layout_.has_list) list_[r] = b.list[i];
    if (with_truth_) {
      truth_log_p_row(layout_, &b.aux[i * b.num_aux], row_truth.data());
      for (size_t e = 0; e < E; ++e) truth_[e][r] = row_truth[e];
    }
  }
}

metric::FunnelPredictions PredictionCollector::gather(
    const std::vector<std::vector<float>>& log_p) const {
  metric::FunnelPredictions p;
  p.n = rows_;
  for (size_t e = 0; e < log_p.size(); ++e) {
    p.log_p.insert(p.log_p.end(), log_p[e].begin(), log_p[e].end());
    p.labels.insert(p.labels.end(), labels_[e].begin(), labels_[e].end());
  }
  p.group = group_;
  p.list = list_;
  return p;
}

metric::FunnelPredictions PredictionCollector::predictions() const { return gather(log_p_); }

metric::FunnelPredictions PredictionCollector::truth() const {
  FUNNEL_CHECK(with_truth_, "predictions: collected without the truth");
  return gather(truth_);
}

void truth_log_p_row(const data::Layout& layout, const float* aux_row, float* out,
                     bool inherent) {
  const std::vector<int>& aux = inherent ? layout.inherent_truth_aux : layout.truth_aux;
  for (size_t e = 0; e < layout.num_events(); ++e) {
    const int parent = layout.event_parent[e];
    const double cond = std::log(static_cast<double>(aux_row[aux[e]]));
    out[e] = static_cast<float>(cond + (parent < 0 ? 0.0 : out[parent]));
  }
}

std::optional<metric::FunnelPredictions> truth_predictions(const data::Cache& cache,
                                                           const std::string& split_name,
                                                           bool inherent) {
  const data::Layout& layout = cache.layout();
  if (!(inherent ? layout.has_inherent_truth() : layout.has_truth())) return std::nullopt;
  const data::CacheSplit& split = cache.split(split_name);
  const size_t n = split.rows(), E = layout.num_events(), A = layout.aux.size();
  metric::FunnelPredictions p;
  p.n = n;
  p.log_p.resize(E * n);
  p.labels.resize(E * n);
  const float* aux = split.aux();
  const uint8_t* labels = split.labels();
  std::vector<float> row(E);
  for (size_t i = 0; i < n; ++i) {
    // Entire space: log P(e) = log P(e | parent) + log P(parent).
    truth_log_p_row(layout, aux + i * A, row.data(), inherent);
    for (size_t e = 0; e < E; ++e) {
      p.log_p[e * n + i] = row[e];
      p.labels[e * n + i] = labels[i * E + e];
    }
  }
  if (layout.has_group) p.group.assign(split.group(), split.group() + n);
  if (layout.has_list) p.list.assign(split.list(), split.list() + n);
  return p;
}

nlohmann::json oracle_metrics(const data::Cache& cache, const std::string& split,
                              bool inherent) {
  const auto truth = truth_predictions(cache, split, inherent);
  if (!truth) return nullptr;
  return metric::funnel_metrics(*truth, cache.layout().events, cache.layout().event_parent);
}

}  // namespace funnel::model
