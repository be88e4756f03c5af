#pragma once
// Row-wise ("lazy") optimizers for embedding tables: only the rows present in a batch are
// updated, so a step costs O(touched rows x dim) instead of O(table). Each optimizer owns
// its per-row state; the table owns the weights and hands in unique rows with their
// accumulated gradients.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace funnel::embed {

/// Stable numeric ids: they are written into saved tables.
enum class OptimizerKind : uint32_t { kSgd = 1, kAdagrad = 2, kAdam = 3 };

/// Plain SGD (no momentum: momentum would need per-row state and lazy momentum is not
/// equivalent to dense momentum anyway). Matches torch::optim::SGD with momentum = 0.
struct SgdOptions {
  /// Learning rate.
  double lr = 1e-2;
  /// L2 penalty added to the gradient of touched rows: g += weight_decay * w.
  double weight_decay = 0.0;
};

/// Adagrad; matches torch::optim::Adagrad (lr_decay = 0) on rows touched at every step.
struct AdagradOptions {
  /// Learning rate (torch default).
  double lr = 1e-2;
  /// Added to sqrt(accumulator) before dividing (torch default).
  double eps = 1e-10;
  /// L2 penalty added to the gradient of touched rows: g += weight_decay * w.
  double weight_decay = 0.0;
  /// Starting value of every accumulator entry; > 0 damps the first steps.
  double initial_accumulator_value = 0.0;
};

/// Lazy Adam with a step count per row (see docs/embeddings.md); matches torch::optim::Adam
/// (amsgrad = false) on rows touched at every step.
struct AdamOptions {
  /// Learning rate.
  double lr = 1e-3;
  /// Decay of the first-moment running average.
  double beta1 = 0.9;
  /// Decay of the second-moment running average.
  double beta2 = 0.999;
  /// Added to the bias-corrected sqrt(second moment) before dividing.
  double eps = 1e-8;
  /// L2 penalty added to the gradient of touched rows (torch Adam's weight_decay, not AdamW).
  double weight_decay = 0.0;
};

/// The optimizer of a table: the alternative held selects the kind.
using OptimizerOptions = std::variant<AdamOptions, AdagradOptions, SgdOptions>;

OptimizerKind optimizer_kind(const OptimizerOptions& options);
/// "sgd", "adagrad", "adam".
const char* optimizer_name(OptimizerKind kind);
/// Inverse of optimizer_name with default options for the kind; throws Error on unknown names.
OptimizerOptions optimizer_options_from_name(const std::string& name);
/// Every registered name ("sgd", "adagrad", "adam").
std::vector<std::string> optimizer_names();

/// Per-row optimizer state plus the update rule.
class RowOptimizer {
 public:
  virtual ~RowOptimizer() = default;

  virtual OptimizerKind kind() const = 0;
  virtual OptimizerOptions options() const = 0;

  /// Applies one step to `n` distinct rows: rows[i] gets gradient grads[i * dim .. +dim).
  /// `weights` is the whole table (num_rows x dim, row-major). Rows must be unique.
  virtual void update(float* weights, const uint32_t* rows, const float* grads, size_t n) = 0;

  /// Bytes of per-row state (0 for SGD).
  virtual size_t state_bytes() const = 0;
  /// Back to the state of a freshly created optimizer (as if no row was ever touched).
  virtual void reset_state() = 0;
  /// Changes the learning rate of the next updates (a schedule; the state is kept).
  virtual void set_lr(double lr) = 0;
  /// Frequency-aware L2: the t-th update of a row adds (weight_decay + lambda / t) * w to its
  /// gradient, t = the row's own update count, so rare ids are decayed more per touch. A run
  /// setting (not saved); only optimizers with per-row step counts (adam); others throw.
  virtual void set_frequency_decay(double lambda);
  virtual void save_state(std::ostream& os) const = 0;
  /// Reads what save_state wrote for the same num_rows x dim; throws Error on truncation.
  virtual void load_state(std::istream& is) = 0;
};

/// The registry: creates the optimizer named by the variant for a num_rows x dim table.
std::unique_ptr<RowOptimizer> make_optimizer(const OptimizerOptions& options, uint64_t num_rows,
                                             uint32_t dim);

/// Hyperparameters as written into saved tables (kind first, then the options' fields).
void write_optimizer_options(std::ostream& os, const OptimizerOptions& options);
OptimizerOptions read_optimizer_options(std::istream& is);

}  // namespace funnel::embed
