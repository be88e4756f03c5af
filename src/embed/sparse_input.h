#pragma once
// One field of a batch in CSR form: the only input format the embedding tables understand,
// so that embed/ depends on nothing but core/ (the data loader fills these from a Batch).

#include <cstddef>
#include <cstdint>

namespace funnel::embed {

/// Non-owning view of one sparse field for `batch_size` rows.
///
/// Row `b` owns ids[offsets[b] .. offsets[b+1]). With `offsets == nullptr` the field is
/// single-valued: row `b` owns exactly ids[b] and `num_ids` must equal `batch_size`.
/// Offsets need not start at 0 (a field may be a slice of a larger id array), but they must
/// be non-decreasing and end at or before `num_ids`. Rows with no ids pool to zeros.
struct SparseInput {
  const uint32_t* ids = nullptr;
  size_t num_ids = 0;
  /// batch_size + 1 entries, or nullptr for single-valued fields.
  const uint64_t* offsets = nullptr;
  /// One weight per id, or nullptr for all ones.
  const float* weights = nullptr;
  size_t batch_size = 0;

  /// First and one-past-last id index of row `b`.
  size_t begin(size_t b) const { return offsets ? static_cast<size_t>(offsets[b]) : b; }
  size_t end(size_t b) const { return offsets ? static_cast<size_t>(offsets[b + 1]) : b + 1; }
  float weight(size_t k) const { return weights ? weights[k] : 1.0f; }
};

/// Checks the CSR structure and that every id referenced by a row is < `num_rows`; throws
/// funnel::Error naming the offending row / id otherwise.
void validate(const SparseInput& input, uint64_t num_rows);

}  // namespace funnel::embed
