#include "model/evaluator.h"

#include <torch/types.h>

#include "core/progress.h"
#include "data/batch_slice.h"
#include "data/loader.h"
#include "model/model_input.h"

namespace funnel::model {
namespace {

/// Eval mode while alive; the mode the module had before afterwards (also on errors).
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& m) : m_(m), was_training_(m.is_training()) {
    m_.eval();
  }
  ~EvalModeGuard() { m_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& m_;
  bool was_training_;
};

}  // namespace

Evaluator::Evaluator(FunnelModel& net, const FeatureEmbedding& embedding, FunnelSpec funnel)
    : net_(net), embedding_(embedding), funnel_(std::move(funnel)) {
  funnel_.validate();
}

BatchScores Evaluator::score(const data::Batch& batch) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = embedding_.lookup(batch);
  if (batch.size == 0) return BatchScores{};  // a rank's empty part (the lookup is collective)
  const FunnelOutput out = net_.forward(embedding_.model_input(batch, x, net_.reads_feedback()));
  const std::vector<torch::Tensor> log_p = entire_space_log_p(out, funnel_.parents);
  BatchScores s;
  s.size = batch.size;
  s.log_p.resize(log_p.size() * batch.size);
  for (size_t e = 0; e < log_p.size(); ++e) {
    const torch::Tensor t = log_p[e].to(torch::kCPU, torch::kFloat32).contiguous();
    std::copy(t.data_ptr<float>(), t.data_ptr<float>() + batch.size, &s.log_p[e * batch.size]);
  }
  return s;
}

metric::FunnelPredictions Evaluator::predict(const data::Cache& cache,
                                             const std::string& split_name) const {
  const data::CacheSplit& split = cache.split(split_name);
  data::LoaderOptions lo;
  lo.batch_size = 8192;
  lo.shuffle = false;
  lo.lists = list_batches();
  data::Loader loader(cache, split, lo);
  loader.start_epoch(0);
  PredictionCollector collector(cache.layout(), /*with_truth=*/false, split.rows());
  EvalModeGuard eval_mode(net_);
  Progress::Options po;
  po.label = "evaluate " + split_name;
  po.total = split.rows();
  po.total_is_bytes = false;
  po.final_line = false;  // runs at every evaluation of a training: a live line only
  Progress progress(po);
  data::Batch b;
  uint64_t rows = 0;
  while (loader.next(b)) {
    collector.add(b, embedding_.sharded() ? score_parts(b) : score(b));
    rows += b.size;
    progress.update(rows, rows);
  }
  progress.finish();
  return collector.predictions();
}

BatchScores Evaluator::score_parts(const data::Batch& b) const {
  dist::Communicator& comm = *embedding_.communicator();
  const size_t n = static_cast<size_t>(comm.world_size());
  const size_t events = funnel_.events.size();
  size_t begin = 0, end = 0, widest = 0;
  for (size_t r = 0; r < n; ++r) {
    data::batch_part(b, r, n, begin, end);
    widest = std::max(widest, end - begin);
  }
  data::batch_part(b, static_cast<size_t>(comm.rank()), n, begin, end);
  data::Batch part;
  data::slice_batch(b, begin, end, part);
  const BatchScores mine = score(part);
  // Every rank's scores, padded to the widest part, then in row order: each rank holds the
  // whole split's predictions, so the metrics (and early stopping) agree on every rank.
  torch::Tensor send = torch::zeros({static_cast<int64_t>(events * widest)}, torch::kFloat32);
  for (size_t e = 0; e < events; ++e) {
    std::copy(mine.log_p.begin() + e * part.size, mine.log_p.begin() + (e + 1) * part.size,
              send.data_ptr<float>() + e * widest);
  }
  const std::vector<torch::Tensor> all = comm.all_gather(send);
  BatchScores s;
  s.size = b.size;
  s.log_p.resize(events * b.size);
  for (size_t r = 0; r < n; ++r) {
    data::batch_part(b, r, n, begin, end);
    const float* got = all[r].data_ptr<float>();
    for (size_t e = 0; e < events; ++e) {
      std::copy(got + e * widest, got + e * widest + (end - begin), &s.log_p[e * b.size + begin]);
    }
  }
  return s;
}

nlohmann::json Evaluator::evaluate(const data::Cache& cache, const std::string& split) const {
  return metrics(predict(cache, split));
}

nlohmann::json Evaluator::metrics(const metric::FunnelPredictions& p) const {
  return metric::funnel_metrics(p, funnel_.events, funnel_.parents);
}

}  // namespace funnel::model
