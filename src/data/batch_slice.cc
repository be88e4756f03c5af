#include "data/batch_slice.h"

#include <algorithm>

#include "core/error.h"

namespace funnel::data {
namespace {

template <typename T>
void copy_rows(const std::vector<T>& in, size_t width, size_t begin, size_t end,
               std::vector<T>& out) {
  if (in.empty()) {
    out.clear();
    return;
  }
  out.assign(in.begin() + begin * width, in.begin() + end * width);
}

}  // namespace

void slice_batch(const Batch& in, size_t begin, size_t end, Batch& out) {
  FUNNEL_CHECK(begin <= end && end <= in.size,
               "slice_batch: rows [" << begin << ", " << end << ") of " << in.size);
  const size_t n = end - begin;
  out.size = n;
  out.global_size = 0;
  out.num_events = in.num_events;
  out.labels.resize(in.num_events * n);
  for (size_t e = 0; e < in.num_events; ++e) {
    std::copy(in.labels.begin() + e * in.size + begin, in.labels.begin() + e * in.size + end,
              out.labels.begin() + e * n);
  }
  out.sparse.resize(in.sparse.size());
  for (size_t f = 0; f < in.sparse.size(); ++f) {
    const SparseBatch& s = in.sparse[f];
    SparseBatch& o = out.sparse[f];
    if (s.offsets.empty()) {
      copy_rows(s.ids, 1, begin, end, o.ids);
      o.offsets.clear();
      copy_rows(s.weights, 1, begin, end, o.weights);
      continue;
    }
    const uint64_t lo = s.offsets[begin], hi = s.offsets[end];
    o.ids.assign(s.ids.begin() + lo, s.ids.begin() + hi);
    o.weights.clear();
    if (!s.weights.empty()) o.weights.assign(s.weights.begin() + lo, s.weights.begin() + hi);
    o.offsets.resize(n + 1);
    for (size_t i = 0; i <= n; ++i) o.offsets[i] = s.offsets[begin + i] - lo;
  }
  out.num_dense = in.num_dense;
  copy_rows(in.dense, in.num_dense, begin, end, out.dense);
  copy_rows(in.group, 1, begin, end, out.group);
  copy_rows(in.list, 1, begin, end, out.list);
  copy_rows(in.position, 1, begin, end, out.position);
  copy_rows(in.timestamp, 1, begin, end, out.timestamp);
  out.num_aux = in.num_aux;
  copy_rows(in.aux, in.num_aux, begin, end, out.aux);
  copy_rows(in.row, 1, begin, end, out.row);
  out.list_offsets.clear();
  if (!in.list_offsets.empty()) {
    const auto a = std::find(in.list_offsets.begin(), in.list_offsets.end(), begin);
    const auto b = std::find(in.list_offsets.begin(), in.list_offsets.end(), end);
    FUNNEL_CHECK(a != in.list_offsets.end() && b != in.list_offsets.end(),
                 "slice_batch: rows [" << begin << ", " << end << ") cut a list");
    for (auto it = a; it <= b; ++it) out.list_offsets.push_back(*it - begin);
  }
}

void batch_part(const Batch& b, size_t part, size_t parts, size_t& begin, size_t& end) {
  FUNNEL_CHECK(parts >= 1 && part < parts, "batch_part: part " << part << " of " << parts);
  if (b.list_offsets.empty()) {
    part_bounds(b.size, part, parts, begin, end);
    return;
  }
  size_t first = 0, last = 0;
  part_bounds(b.list_offsets.size() - 1, part, parts, first, last);
  begin = b.list_offsets[first];
  end = b.list_offsets[last];
}

}  // namespace funnel::data
