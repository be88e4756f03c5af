#include "embed/sgd.h"

#include "core/error.h"
#include "embed/kernels.h"

namespace funnel::embed {

Sgd::Sgd(const SgdOptions& options, uint64_t num_rows, uint32_t dim)
    : options_(options), num_rows_(num_rows), dim_(dim) {
  FUNNEL_CHECK(options.lr >= 0, "sgd: lr must be >= 0, got " << options.lr);
  FUNNEL_CHECK(options.weight_decay >= 0,
               "sgd: weight_decay must be >= 0, got " << options.weight_decay);
}

namespace {

template <int kDim>
void sgd_rows(float lr, float wd, uint32_t dim, float* __restrict weights,
              const uint32_t* __restrict rows, const float* __restrict grads, size_t n) {
  const size_t d = detail::width<kDim>(dim);
  for (size_t i = 0; i < n; ++i) {
    if (i + detail::kPrefetchDistance < n) {
      detail::prefetch_write(weights + size_t{rows[i + detail::kPrefetchDistance]} * d);
    }
    float* __restrict w = weights + size_t{rows[i]} * d;
    const float* __restrict g = grads + i * d;
    // torch::optim::SGD: d_p = g + wd * w; w += -lr * d_p.
    for (size_t j = 0; j < d; ++j) w[j] += -lr * (g[j] + wd * w[j]);
  }
}

}  // namespace

void Sgd::update(float* weights, const uint32_t* rows, const float* grads, size_t n) {
  const auto lr = static_cast<float>(options_.lr);
  const auto wd = static_cast<float>(options_.weight_decay);
  detail::dispatch_dim(
      dim_, [&](auto k) { sgd_rows<decltype(k)::value>(lr, wd, dim_, weights, rows, grads, n); });
}

}  // namespace funnel::embed
