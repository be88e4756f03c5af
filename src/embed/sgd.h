#pragma once
// Stateless SGD for embedding rows.

#include "embed/optimizer.h"

namespace funnel::embed {

class Sgd final : public RowOptimizer {
 public:
  Sgd(const SgdOptions& options, uint64_t num_rows, uint32_t dim);

  OptimizerKind kind() const override { return OptimizerKind::kSgd; }
  OptimizerOptions options() const override { return options_; }
  void update(float* weights, const uint32_t* rows, const float* grads, size_t n) override;
  size_t state_bytes() const override { return 0; }
  void set_lr(double lr) override { options_.lr = lr; }
  void reset_state() override {}
  void save_state(std::ostream&) const override {}
  void load_state(std::istream&) override {}

 private:
  SgdOptions options_;
  uint64_t num_rows_;
  uint32_t dim_;
};

}  // namespace funnel::embed
