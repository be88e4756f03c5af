#pragma once
// A batch of rows as the trainer consumes it: plain arrays, no LibTorch (models wrap them
// with torch::from_blob). Sparse fields are in CSR form.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::data {

struct SparseBatch {
  /// Ids of every row's values, row after row.
  std::vector<uint32_t> ids;
  /// size + 1 offsets into `ids` for multi-valued fields; empty for single-valued fields,
  /// which have exactly one id per row (0 = missing / out of vocabulary).
  std::vector<uint64_t> offsets;
  /// One weight per id for weighted fields; empty otherwise (all weights 1).
  std::vector<float> weights;
};

struct Batch {
  size_t size = 0;
  /// Rows of the whole batch across the ranks of a data-parallel step, of which this is one
  /// rank's part (LoaderOptions::shards); 0 = this batch is whole.
  size_t global_size = 0;
  size_t num_events = 0;
  /// Event-major: labels[e * size + i] is event e of row i (0 or 1).
  std::vector<float> labels;
  std::vector<SparseBatch> sparse;
  size_t num_dense = 0;
  /// Row-major: dense[i * num_dense + d], normalised tanh((x - mean) / std) (ESM2 eq. 17);
  /// missing values are 0.
  std::vector<float> dense;
  std::vector<uint64_t> group;  // when the schema has a group column
  std::vector<uint64_t> list;   // when the schema has a list column
  /// Batches of whole lists (LoaderOptions::lists): num_lists + 1 offsets into the rows, list
  /// k = rows [list_offsets[k], list_offsets[k + 1]) in list order; empty otherwise.
  std::vector<uint64_t> list_offsets;
  std::vector<int32_t> position;   // when the schema has a position column
  std::vector<int64_t> timestamp;  // when the schema has a timestamp column
  size_t num_aux = 0;
  std::vector<float> aux;  // row-major [size x num_aux], NaN = missing
  /// Sparse fields (layout indices) and dense features whose values are the same in every
  /// row of this batch (a scoring request's user and context, serve/request.h), so that a
  /// model may compute what depends only on them once (model::ModelInput::uniform). Empty:
  /// nothing known.
  std::vector<uint32_t> uniform_sparse, uniform_dense;
  /// Index of each row in its split (predictions are written back in input order).
  std::vector<uint64_t> row;

  float label(size_t event, size_t i) const { return labels[event * size + i]; }
};

}  // namespace funnel::data
