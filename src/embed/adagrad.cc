#include "embed/adagrad.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "embed/binary_io.h"
#include "embed/kernels.h"

namespace funnel::embed {

Adagrad::Adagrad(const AdagradOptions& options, uint64_t num_rows, uint32_t dim)
    : options_(options), num_rows_(num_rows), dim_(dim) {
  FUNNEL_CHECK(options.lr >= 0, "adagrad: lr must be >= 0, got " << options.lr);
  FUNNEL_CHECK(options.eps >= 0, "adagrad: eps must be >= 0, got " << options.eps);
  FUNNEL_CHECK(options.weight_decay >= 0,
               "adagrad: weight_decay must be >= 0, got " << options.weight_decay);
  FUNNEL_CHECK(
      options.initial_accumulator_value >= 0,
      "adagrad: initial_accumulator_value must be >= 0, got " << options.initial_accumulator_value);
  reset_state();
}

void Adagrad::reset_state() {
  sum_ = ZeroedArray<float>(num_rows_ * dim_);
  if (options_.initial_accumulator_value != 0) {
    std::fill(sum_.data(), sum_.data() + sum_.size(),
              static_cast<float>(options_.initial_accumulator_value));
  }
}

namespace {

template <int kDim>
void adagrad_rows(float lr, float eps, float wd, uint32_t dim, float* __restrict weights,
                  float* __restrict sums, const uint32_t* __restrict rows,
                  const float* __restrict grads, size_t n) {
  const size_t d = detail::width<kDim>(dim);
  for (size_t i = 0; i < n; ++i) {
    if (i + detail::kPrefetchDistance < n) {
      const size_t ahead = size_t{rows[i + detail::kPrefetchDistance]} * d;
      detail::prefetch_write(weights + ahead);
      detail::prefetch_write(sums + ahead);
    }
    const size_t base = size_t{rows[i]} * d;
    float* __restrict w = weights + base;
    float* __restrict s = sums + base;
    const float* __restrict g_in = grads + i * d;
    // torch::optim::Adagrad (lr_decay = 0): g += wd * w; sum += g * g;
    // w += -lr * g / (sqrt(sum) + eps).
    for (size_t j = 0; j < d; ++j) {
      const float g = g_in[j] + wd * w[j];
      s[j] += g * g;
      w[j] += -lr * (g / (std::sqrt(s[j]) + eps));
    }
  }
}

}  // namespace

void Adagrad::update(float* weights, const uint32_t* rows, const float* grads, size_t n) {
  const auto lr = static_cast<float>(options_.lr);
  const auto eps = static_cast<float>(options_.eps);
  const auto wd = static_cast<float>(options_.weight_decay);
  detail::dispatch_dim(dim_, [&](auto k) {
    adagrad_rows<decltype(k)::value>(lr, eps, wd, dim_, weights, sum_.data(), rows, grads, n);
  });
}

void Adagrad::save_state(std::ostream& os) const {
  io::write_bytes(os, sum_.data(), sum_.bytes(), "adagrad accumulators");
}

void Adagrad::load_state(std::istream& is) {
  io::read_bytes(is, sum_.data(), sum_.bytes(), "adagrad accumulators");
}

}  // namespace funnel::embed
