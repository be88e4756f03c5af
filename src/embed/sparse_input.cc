#include "embed/sparse_input.h"

#include "core/error.h"

namespace funnel::embed {

void validate(const SparseInput& input, uint64_t num_rows) {
  FUNNEL_CHECK(input.num_ids == 0 || input.ids != nullptr,
               "sparse input: ids is null but num_ids = " << input.num_ids);
  size_t first = 0;
  size_t last = input.num_ids;
  if (input.offsets == nullptr) {
    FUNNEL_CHECK(input.num_ids == input.batch_size,
                 "sparse input without offsets must have one id per row: num_ids = "
                     << input.num_ids << ", batch_size = " << input.batch_size);
  } else {
    first = static_cast<size_t>(input.offsets[0]);
    last = static_cast<size_t>(input.offsets[input.batch_size]);
    FUNNEL_CHECK(last <= input.num_ids, "sparse input: offsets[batch_size] = "
                                            << last << " exceeds num_ids = " << input.num_ids);
    for (size_t b = 0; b < input.batch_size; ++b) {
      FUNNEL_CHECK(input.offsets[b] <= input.offsets[b + 1],
                   "sparse input: offsets decrease at row "
                       << b << " (" << input.offsets[b] << " > " << input.offsets[b + 1] << ")");
    }
  }
  for (size_t k = first; k < last; ++k) {
    FUNNEL_CHECK(input.ids[k] < num_rows, "sparse input: id " << input.ids[k] << " at position "
                                                              << k << " is out of range for a "
                                                              << num_rows << "-row table");
  }
}

}  // namespace funnel::embed
