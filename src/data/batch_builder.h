#pragma once
// Builds a Batch from encoded rows of raw text (prediction and serving input), mapping value
// keys through saved vocabularies and normalising numerics with the training statistics, so
// new input reaches the model exactly as the cache's rows do through the Loader.

#include <cstdint>
#include <vector>

#include "data/batch.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "data/vocabulary.h"

namespace funnel::data {

class BatchBuilder {
 public:
  /// `vocabs`: one per sparse field of `layout` (must outlive the builder); dense_mean/std:
  /// the training split's statistics (Cache::dense_mean / dense_std).
  BatchBuilder(const Layout& layout, const std::vector<Vocabulary>& vocabs,
               std::vector<float> dense_mean, std::vector<float> dense_std);

  /// Starts a new batch.
  void clear();
  /// Appends one row; `row_index` is stored in Batch::row. Labels are copied when the row
  /// has them (prediction input may have none: they are then 0). `unknown`, when given (one
  /// count per sparse field), counts the row's values that mapped to the out-of-vocabulary
  /// id 0 (a missing value, key 0, is not one; bucketised fields have no vocabulary misses).
  void add(const EncodedRow& row, uint64_t row_index, std::vector<uint64_t>* unknown = nullptr);
  size_t size() const { return batch_.size; }
  /// The next row starts a list: the batch is then one of whole lists, Batch::list_offsets
  /// holding every start and the end (call before each list's first add()).
  void start_list() { list_starts_.push_back(batch_.size); }
  /// The batch built so far (label arrays are laid out event-major on access).
  const Batch& batch();

 private:
  const Layout& layout_;
  const std::vector<Vocabulary>& vocabs_;
  std::vector<float> mean_, inv_std_;
  Batch batch_;
  std::vector<std::vector<float>> labels_;  // per event, row-major while appending
  std::vector<uint64_t> list_starts_;
};

}  // namespace funnel::data
