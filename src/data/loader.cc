#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "data/batch_slice.h"

namespace funnel::data {
namespace {

/// Whether a list batch holding `rows` rows of `lists` lists is closed before a list of `len`
/// rows: one packing rule for take_lists() and batches_per_epoch().
bool list_batch_full(const LoaderOptions& o, uint64_t rows, size_t lists, uint64_t len) {
  return rows > 0 &&
         (rows + len > o.batch_size || (o.lists_per_batch > 0 && lists == o.lists_per_batch));
}

}  // namespace

Loader::Loader(const Cache& cache, const CacheSplit& split, LoaderOptions options)
    : cache_(cache), split_(split), options_(options) {
  FUNNEL_CHECK(options_.batch_size > 0, "loader: batch_size must be > 0");
  FUNNEL_CHECK(options_.shards >= 1 && options_.shard < options_.shards,
               "loader: shard " << options_.shard << " of " << options_.shards);
  FUNNEL_CHECK(options_.block_rows > 0 && options_.window_blocks > 0,
               "loader: block_rows and window_blocks must be > 0");
  begin_ = std::min(options_.begin_row, split.rows());
  end_ = options_.end_row == 0 ? split.rows() : std::min(options_.end_row, split.rows());
  FUNNEL_CHECK(begin_ <= end_, "loader: empty or inverted row range");
  for (float s : cache.dense_std()) inv_std_.push_back(s > 0 ? 1.0f / s : 0.0f);
  if (options_.lists) {
    FUNNEL_CHECK(!options_.drop_last, "loader: drop_last does not apply to list batches");
    lists_ = ListIndex::build(split.list(), split.position(), begin_, end_, "split " + split.dir());
  }
}

Loader::~Loader() { stop_thread(); }

uint64_t Loader::batches_per_epoch() const {
  if (options_.lists) {
    uint64_t batches = 0, rows = 0, lists = 0;
    for (size_t k = 0; k < lists_.lists(); ++k) {
      const uint64_t len = lists_.length(k);
      if (k == 0 || list_batch_full(options_, rows, lists, len)) {
        ++batches;
        rows = 0;
        lists = 0;
      }
      rows += len;
      ++lists;
    }
    return batches;
  }
  const uint64_t n = rows();
  return options_.drop_last ? n / options_.batch_size
                            : (n + options_.batch_size - 1) / options_.batch_size;
}

void Loader::stop_thread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Loader::start_epoch(uint64_t epoch) {
  stop_thread();
  started_ = true;
  ready_.clear();
  done_ = false;
  stop_ = false;
  error_ = nullptr;
  sequential_next_ = begin_;
  window_.clear();
  window_pos_ = 0;
  next_block_ = 0;
  block_order_.clear();
  next_list_ = 0;
  if (options_.shuffle) {
    // Independent stream per (seed, epoch).
    uint64_t s = options_.seed * 0x9E3779B97F4A7C15ULL + epoch;
    rng_ = Rng(splitmix64(s));
  }
  if (options_.lists) {
    list_order_.resize(lists_.lists());
    for (size_t k = 0; k < list_order_.size(); ++k) list_order_[k] = k;
    if (options_.shuffle) rng_.shuffle(list_order_.begin(), list_order_.end());
  } else if (options_.shuffle) {
    const uint64_t blocks = (rows() + options_.block_rows - 1) / options_.block_rows;
    block_order_.resize(blocks);
    for (uint64_t b = 0; b < blocks; ++b) block_order_[b] = b;
    rng_.shuffle(block_order_.begin(), block_order_.end());
  }
  if (options_.prefetch > 0) thread_ = std::thread(&Loader::worker, this);
}

void Loader::refill_window() {
  window_.clear();
  window_pos_ = 0;
  for (size_t k = 0; k < options_.window_blocks && next_block_ < block_order_.size(); ++k) {
    const uint64_t b = block_order_[next_block_++];
    const uint64_t lo = begin_ + b * options_.block_rows;
    const uint64_t hi = std::min(end_, lo + options_.block_rows);
    for (uint64_t r = lo; r < hi; ++r) window_.push_back(r);
  }
  rng_.shuffle(window_.begin(), window_.end());
}

void Loader::take_indices(size_t n, std::vector<uint64_t>& out) {
  out.clear();
  if (!options_.shuffle) {
    const uint64_t hi = std::min<uint64_t>(end_, sequential_next_ + n);
    for (uint64_t r = sequential_next_; r < hi; ++r) out.push_back(r);
    sequential_next_ = hi;
    return;
  }
  while (out.size() < n) {
    if (window_pos_ == window_.size()) {
      if (next_block_ == block_order_.size()) break;
      refill_window();
    }
    const size_t m = std::min(n - out.size(), window_.size() - window_pos_);
    out.insert(out.end(), window_.begin() + static_cast<std::ptrdiff_t>(window_pos_),
               window_.begin() + static_cast<std::ptrdiff_t>(window_pos_ + m));
    window_pos_ += m;
  }
  // The order inside a batch does not matter to training; ascending rows read memory in order.
  std::sort(out.begin(), out.end());
}

void Loader::take_lists(std::vector<uint64_t>& out) {
  out.clear();
  list_offsets_.assign(1, 0);
  while (next_list_ < list_order_.size()) {
    const uint64_t k = list_order_[next_list_];
    const uint64_t lo = lists_.offsets[k], hi = lists_.offsets[k + 1];
    if (list_batch_full(options_, out.size(), list_offsets_.size() - 1, hi - lo)) break;
    for (uint64_t r = lo; r < hi; ++r) out.push_back(r);
    list_offsets_.push_back(out.size());
    ++next_list_;
  }
}

void Loader::gather(const std::vector<uint64_t>& rows, Batch& b) const {
  const Layout& layout = cache_.layout();
  const size_t n = rows.size();
  const size_t E = layout.num_events();
  b.size = n;
  b.num_events = E;
  b.row = rows;
  b.labels.resize(E * n);
  const uint8_t* lab = split_.labels();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* src = lab + rows[i] * E;
    for (size_t e = 0; e < E; ++e) b.labels[e * n + i] = src[e];
  }
  b.sparse.resize(layout.sparse.size());
  for (size_t f = 0; f < layout.sparse.size(); ++f) {
    SparseBatch& sb = b.sparse[f];
    const uint32_t* ids = split_.ids(f);
    const uint64_t* off = split_.offsets(f);
    const float* w = split_.weights(f);
    if (off == nullptr) {
      sb.offsets.clear();
      sb.weights.clear();
      sb.ids.resize(n);
      for (size_t i = 0; i < n; ++i) sb.ids[i] = ids[rows[i]];
      continue;
    }
    sb.offsets.resize(n + 1);
    sb.ids.clear();
    sb.weights.clear();
    sb.offsets[0] = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t lo = off[rows[i]], hi = off[rows[i] + 1];
      sb.ids.insert(sb.ids.end(), ids + lo, ids + hi);
      if (w != nullptr) sb.weights.insert(sb.weights.end(), w + lo, w + hi);
      sb.offsets[i + 1] = sb.ids.size();
    }
  }
  const size_t D = layout.dense.size();
  b.num_dense = D;
  b.dense.resize(n * D);
  if (D > 0) {
    const float* dense = split_.dense();
    const auto& mean = cache_.dense_mean();
    for (size_t i = 0; i < n; ++i) {
      const float* src = dense + rows[i] * D;
      float* dst = b.dense.data() + i * D;
      for (size_t d = 0; d < D; ++d) {
        const float x = src[d];
        // ESM2 eq. 17: tanh((x - mean) / std); a missing value sits at the mean.
        dst[d] = std::isnan(x) ? 0.0f : std::tanh((x - mean[d]) * inv_std_[d]);
      }
    }
  }
  auto copy_column = [&](auto* src, auto& dst, size_t width) {
    dst.resize(src == nullptr ? 0 : n * width);
    if (src == nullptr) return;
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(&dst[i * width], src + rows[i] * width, width * sizeof(*src));
    }
  };
  copy_column(split_.group(), b.group, 1);
  copy_column(split_.list(), b.list, 1);
  copy_column(split_.position(), b.position, 1);
  copy_column(split_.timestamp(), b.timestamp, 1);
  b.num_aux = layout.aux.size();
  copy_column(split_.aux(), b.aux, b.num_aux);
}

bool Loader::cut_shard() {
  const size_t n = options_.shards, s = options_.shard;
  if (options_.lists) {
    const size_t lists = list_offsets_.size() - 1;
    if (lists < n) return false;
    size_t a = 0, b = 0;
    part_bounds(lists, s, n, a, b);
    const uint64_t first = list_offsets_[a], last = list_offsets_[b];
    indices_.erase(indices_.begin() + last, indices_.end());
    indices_.erase(indices_.begin(), indices_.begin() + first);
    std::vector<uint64_t> offsets;
    for (size_t k = a; k <= b; ++k) offsets.push_back(list_offsets_[k] - first);
    list_offsets_ = std::move(offsets);
    return true;
  }
  const size_t rows = indices_.size();
  if (rows < n) return false;
  size_t a = 0, b = 0;
  part_bounds(rows, s, n, a, b);
  indices_.erase(indices_.begin() + b, indices_.end());
  indices_.erase(indices_.begin(), indices_.begin() + a);
  return true;
}

bool Loader::produce(Batch& batch) {
  size_t global = 0;
  for (;;) {
    if (options_.lists) {
      take_lists(indices_);
    } else {
      take_indices(options_.batch_size, indices_);
    }
    if (indices_.empty()) return false;
    if (options_.drop_last && indices_.size() < options_.batch_size) return false;
    global = indices_.size();
    if (options_.shards <= 1 || cut_shard()) break;
    dropped_rows_ += global;
  }
  gather(indices_, batch);
  batch.global_size = options_.shards > 1 ? global : 0;
  if (options_.lists) {
    batch.list_offsets = list_offsets_;
  } else {
    batch.list_offsets.clear();
  }
  return true;
}

void Loader::worker() {
  try {
    for (;;) {
      Batch b;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || ready_.size() < options_.prefetch; });
        if (stop_) return;
        if (!spare_.empty()) {
          b = std::move(spare_.back());
          spare_.pop_back();
        }
      }
      const bool more = produce(b);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!more) {
          done_ = true;
        } else {
          ready_.push_back(std::move(b));
        }
      }
      cv_.notify_all();
      if (!more) return;
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::current_exception();
    done_ = true;
    cv_.notify_all();
  }
}

bool Loader::next(Batch& batch) {
  FUNNEL_CHECK(started_, "loader: call start_epoch() before next()");
  if (options_.prefetch == 0) return produce(batch);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || done_; });
  if (ready_.empty()) {
    if (error_) std::rethrow_exception(error_);
    return false;
  }
  // Hand the caller's old buffers back to the worker for reuse.
  spare_.push_back(std::move(batch));
  batch = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  cv_.notify_all();
  return true;
}

}  // namespace funnel::data
