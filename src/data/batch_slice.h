#pragma once
// Rows [begin, end) of a Batch as a Batch of their own: the part of a batch one rank of a
// data-parallel evaluation scores (model/evaluator.cc). No LibTorch.

#include <cstddef>

#include "data/batch.h"

namespace funnel::data {

/// `out` = rows [begin, end) of `in` (every column; sparse offsets rebased). With list
/// offsets, begin and end must be list boundaries and out keeps the lists between them.
void slice_batch(const Batch& in, size_t begin, size_t end, Batch& out);

/// Part `part` of `parts` near-equal contiguous parts of [0, n): [part n / parts, (part + 1) n /
/// parts). The one cut of a data-parallel batch (the loader's and the evaluator's).
inline void part_bounds(size_t n, size_t part, size_t parts, size_t& begin, size_t& end) {
  begin = part * n / parts;
  end = (part + 1) * n / parts;
}

/// The row range [begin, end) of part `part` of `parts` of a batch: near-equal rows, or
/// near-equal numbers of whole lists when the batch has list offsets.
void batch_part(const Batch& b, size_t part, size_t parts, size_t& begin, size_t& end);

}  // namespace funnel::data
