#include "embed/lazy_adam.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "embed/binary_io.h"
#include "embed/kernels.h"

namespace funnel::embed {

namespace {

// Steps beyond this are corrected with std::pow on the fly (a few MB of cache at most).
constexpr uint32_t kMaxCachedSteps = uint32_t{1} << 18;

struct AdamConstants {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, frequency_decay;
};

template <int kDim, typename CorrectionFn>
void adam_rows(const AdamConstants& c, uint32_t dim, float* __restrict weights,
               float* __restrict moments, uint32_t* __restrict steps,
               const uint32_t* __restrict rows, const float* __restrict grads, size_t n,
               CorrectionFn&& correction) {
  const size_t d = detail::width<kDim>(dim);
  for (size_t i = 0; i < n; ++i) {
    if (i + detail::kPrefetchDistance < n) {
      const size_t ahead = rows[i + detail::kPrefetchDistance];
      detail::prefetch_write(weights + ahead * d);
      detail::prefetch_write(moments + ahead * 2 * d);
      detail::prefetch_write(moments + ahead * 2 * d + d);
      detail::prefetch_write(steps + ahead);
    }
    const size_t r = rows[i];
    const uint32_t t = ++steps[r];
    const auto corr = correction(t);
    float* __restrict w = weights + r * d;
    float* __restrict m = moments + r * 2 * d;
    float* __restrict v = m + d;
    const float* __restrict g_in = grads + i * d;
    // Frequency-aware L2 (set_frequency_decay): + lambda / t on the row's t-th update; exactly
    // weight_decay when lambda is 0.
    const float wd = c.weight_decay + c.frequency_decay / static_cast<float>(t);
    // torch::optim::Adam (amsgrad = false), op by op in float:
    //   g += wd * w; m = m * b1 + (1 - b1) * g; v = v * b2 + (1 - b2) * g * g;
    //   w += -(lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps).
    for (size_t j = 0; j < d; ++j) {
      const float g = g_in[j] + wd * w[j];
      const float mj = m[j] * c.beta1 + c.one_minus_beta1 * g;
      const float vj = v[j] * c.beta2 + c.one_minus_beta2 * g * g;
      m[j] = mj;
      v[j] = vj;
      w[j] += -corr.step_size * (mj / (std::sqrt(vj) / corr.sqrt_bc2 + c.eps));
    }
  }
}

}  // namespace

LazyAdam::LazyAdam(const AdamOptions& options, uint64_t num_rows, uint32_t dim)
    : options_(options), num_rows_(num_rows), dim_(dim) {
  FUNNEL_CHECK(options.lr >= 0, "adam: lr must be >= 0, got " << options.lr);
  FUNNEL_CHECK(options.beta1 >= 0 && options.beta1 < 1,
               "adam: beta1 must be in [0, 1), got " << options.beta1);
  FUNNEL_CHECK(options.beta2 >= 0 && options.beta2 < 1,
               "adam: beta2 must be in [0, 1), got " << options.beta2);
  FUNNEL_CHECK(options.eps >= 0, "adam: eps must be >= 0, got " << options.eps);
  FUNNEL_CHECK(options.weight_decay >= 0,
               "adam: weight_decay must be >= 0, got " << options.weight_decay);
  reset_state();
}

void LazyAdam::reset_state() {
  moments_ = ZeroedArray<float>(num_rows_ * 2 * dim_);
  steps_ = ZeroedArray<uint32_t>(num_rows_);
}

void LazyAdam::set_lr(double lr) {
  FUNNEL_CHECK(lr >= 0, "adam: lr must be >= 0, got " << lr);
  options_.lr = lr;
  corrections_.clear();
}

void LazyAdam::set_frequency_decay(double lambda) {
  FUNNEL_CHECK(lambda >= 0 && std::isfinite(lambda),
               "adam: frequency decay must be finite and >= 0, got " << lambda);
  frequency_decay_ = lambda;
}

LazyAdam::Correction LazyAdam::compute_correction(uint32_t step) const {
  // Same expressions (in double, then rounded to float) as torch's adam.cpp.
  const double bc1 = 1 - std::pow(options_.beta1, static_cast<double>(step));
  const double bc2 = 1 - std::pow(options_.beta2, static_cast<double>(step));
  return {static_cast<float>(options_.lr / bc1), static_cast<float>(std::sqrt(bc2))};
}

void LazyAdam::extend_corrections(uint32_t max_step) {
  const uint32_t want = std::min(max_step, kMaxCachedSteps - 1);
  if (corrections_.size() > want) return;
  // Grow geometrically so that a steadily advancing step count costs amortised O(1).
  const size_t target =
      std::min<size_t>(kMaxCachedSteps, std::max<size_t>(want + 1, corrections_.size() * 2));
  if (corrections_.empty()) corrections_.push_back({0.0f, 1.0f});  // step 0 is never used
  while (corrections_.size() < target) {
    corrections_.push_back(compute_correction(static_cast<uint32_t>(corrections_.size())));
  }
}

void LazyAdam::update(float* weights, const uint32_t* rows, const float* grads, size_t n) {
  if (n == 0) return;
  // Every row's step after this update is at most the current maximum + 1; make sure the
  // cache covers it (one cheap pass over the steps of the touched rows).
  uint32_t max_step = 0;
  for (size_t i = 0; i < n; ++i) max_step = std::max(max_step, steps_[rows[i]]);
  FUNNEL_CHECK(max_step < std::numeric_limits<uint32_t>::max(),
               "adam: a row reached the maximum step count " << max_step);
  extend_corrections(max_step + 1);
  const AdamConstants c{
      static_cast<float>(options_.beta1),  static_cast<float>(1 - options_.beta1),
      static_cast<float>(options_.beta2),  static_cast<float>(1 - options_.beta2),
      static_cast<float>(options_.eps),    static_cast<float>(options_.weight_decay),
      static_cast<float>(frequency_decay_)};
  const Correction* cache = corrections_.data();
  const size_t cached = corrections_.size();
  auto correction = [&](uint32_t t) { return t < cached ? cache[t] : compute_correction(t); };
  detail::dispatch_dim(dim_, [&](auto k) {
    adam_rows<decltype(k)::value>(c, dim_, weights, moments_.data(), steps_.data(), rows, grads, n,
                                  correction);
  });
}

void LazyAdam::save_state(std::ostream& os) const {
  io::write_bytes(os, moments_.data(), moments_.bytes(), "adam moments");
  io::write_bytes(os, steps_.data(), steps_.bytes(), "adam step counts");
}

void LazyAdam::load_state(std::istream& is) {
  io::read_bytes(is, moments_.data(), moments_.bytes(), "adam moments");
  io::read_bytes(is, steps_.data(), steps_.bytes(), "adam step counts");
}

}  // namespace funnel::embed
