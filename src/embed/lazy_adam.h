#pragma once
// Lazy Adam: first/second moments per weight and a step count per row. A row's bias
// correction uses its own step count, so a row touched at every step follows dense Adam
// exactly (docs/embeddings.md explains the choice).

#include <vector>

#include "core/zeroed_array.h"
#include "embed/optimizer.h"

namespace funnel::embed {

class LazyAdam final : public RowOptimizer {
 public:
  LazyAdam(const AdamOptions& options, uint64_t num_rows, uint32_t dim);

  OptimizerKind kind() const override { return OptimizerKind::kAdam; }
  OptimizerOptions options() const override { return options_; }
  void update(float* weights, const uint32_t* rows, const float* grads, size_t n) override;
  size_t state_bytes() const override { return moments_.bytes() + steps_.bytes(); }
  void reset_state() override;
  /// The cached bias corrections hold lr: they are recomputed.
  void set_lr(double lr) override;
  void set_frequency_decay(double lambda) override;
  double frequency_decay() const { return frequency_decay_; }
  void save_state(std::ostream& os) const override;
  void load_state(std::istream& is) override;

  /// First moment of `row` (dim floats).
  const float* first_moment(uint64_t row) const { return moments_.data() + row * 2 * dim_; }
  /// Second moment of `row` (dim floats).
  const float* second_moment(uint64_t row) const { return first_moment(row) + dim_; }
  /// Number of updates `row` has received.
  uint32_t step(uint64_t row) const { return steps_[row]; }

  /// Bias-correction factors for one step count, in the precision torch uses.
  struct Correction {
    float step_size;  // lr / (1 - beta1^t)
    float sqrt_bc2;   // sqrt(1 - beta2^t)
  };

 private:
  Correction compute_correction(uint32_t step) const;
  /// Makes corrections_[t] valid for every t <= max_step that fits the cache.
  void extend_corrections(uint32_t max_step);

  AdamOptions options_;
  double frequency_decay_ = 0;  // lambda of set_frequency_decay
  uint64_t num_rows_;
  uint32_t dim_;
  // Row r holds [m_0 .. m_{dim-1}, v_0 .. v_{dim-1}]: both moments of a row are adjacent, so
  // one update touches one contiguous 2*dim*4-byte block instead of two random ones.
  ZeroedArray<float> moments_;
  ZeroedArray<uint32_t> steps_;
  // corrections_[t] for t < size(): two std::pow per row would cost as much as the update.
  std::vector<Correction> corrections_;
};

}  // namespace funnel::embed
