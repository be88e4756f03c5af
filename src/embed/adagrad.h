#pragma once
// Row-wise Adagrad: one float accumulator per weight.

#include "core/zeroed_array.h"
#include "embed/optimizer.h"

namespace funnel::embed {

class Adagrad final : public RowOptimizer {
 public:
  Adagrad(const AdagradOptions& options, uint64_t num_rows, uint32_t dim);

  OptimizerKind kind() const override { return OptimizerKind::kAdagrad; }
  OptimizerOptions options() const override { return options_; }
  void update(float* weights, const uint32_t* rows, const float* grads, size_t n) override;
  size_t state_bytes() const override { return sum_.bytes(); }
  void set_lr(double lr) override { options_.lr = lr; }
  void reset_state() override;
  void save_state(std::ostream& os) const override;
  void load_state(std::istream& is) override;

  /// Sum of squared gradients of `row` (dim floats).
  const float* accumulator(uint64_t row) const { return sum_.data() + row * dim_; }

 private:
  AdagradOptions options_;
  uint64_t num_rows_;
  uint32_t dim_;
  ZeroedArray<float> sum_;
};

}  // namespace funnel::embed
