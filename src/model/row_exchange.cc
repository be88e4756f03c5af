#include "model/row_exchange.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace funnel::model {
namespace {

/// A CPU tensor over a vector's storage (no copy; the vector must outlive the call).
template <typename T>
at::Tensor view_of(std::vector<T>& v, at::ScalarType type) {
  return at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::TensorOptions(type));
}

size_t last_position(const embed::SparseInput& in) {
  return in.batch_size == 0 ? 0 : in.end(in.batch_size - 1);
}

}  // namespace

void RowExchange::plan(const std::vector<embed::SparseInput>& inputs) {
  const size_t n = static_cast<size_t>(comm_.world_size());
  const size_t fields = inputs.size();
  plans_.resize(fields);
  send_counts_.assign(n * fields, 0);
  for (size_t f = 0; f < fields; ++f) {
    const embed::SparseInput& in = inputs[f];
    FieldPlan& p = plans_[f];
    p.unique.clear();
    p.by_owner.resize(n);
    for (auto& o : p.by_owner) o.clear();
    const size_t first = in.batch_size == 0 ? 0 : in.begin(0);
    const size_t last = last_position(in);
    p.inverse.assign(last, 0);
    // Open addressing over the batch's ids (capacity >= 2x the occurrences).
    size_t capacity = 16;
    while (capacity < 2 * (last - first)) capacity *= 2;
    slot_key_.assign(capacity, 0);
    slot_of_.assign(capacity, 0);  // 0 = empty, else unique index + 1
    const int shift = 64 - __builtin_ctzll(capacity);
    for (size_t k = first; k < last; ++k) {
      const uint32_t id = in.ids[k];
      size_t s = static_cast<size_t>((uint64_t{id} * 0x9E3779B97F4A7C15ULL) >> shift);
      while (slot_of_[s] != 0 && slot_key_[s] != id) s = (s + 1) & (capacity - 1);
      if (slot_of_[s] == 0) {
        slot_key_[s] = id;
        slot_of_[s] = static_cast<uint32_t>(p.unique.size()) + 1;
        p.by_owner[id % n].push_back(static_cast<uint32_t>(p.unique.size()));
        p.unique.push_back(id);
      }
      p.inverse[k] = slot_of_[s] - 1;
    }
    for (size_t r = 0; r < n; ++r) send_counts_[r * fields + f] = p.by_owner[r].size();
  }
}

void RowExchange::lookup(const std::vector<embed::EmbeddingTable>& tables,
                         const std::vector<embed::SparseInput>& inputs,
                         const std::vector<int64_t>& offsets, float* out, size_t stride) {
  const int n = comm_.world_size();
  const size_t fields = inputs.size();
  FUNNEL_CHECK(tables.size() == fields && offsets.size() == fields,
               "row exchange: " << tables.size() << " tables for " << fields << " fields");
  for (size_t f = 0; f < fields; ++f) {
    const embed::SparseInput& in = inputs[f];
    for (size_t k = in.batch_size ? in.begin(0) : 0; k < last_position(in); ++k) {
      FUNNEL_CHECK(in.ids[k] < tables[f].global_rows(),
                   "id " << in.ids[k] << " >= table rows " << tables[f].global_rows());
    }
  }
  plan(inputs);
  planned_rows_ = inputs.empty() ? 0 : inputs[0].batch_size;

  // 1: how many ids of each field every rank asks of every other.
  std::vector<int64_t> field_splits(n, static_cast<int64_t>(fields));
  at::Tensor recv;
  comm_.all_to_all(view_of(send_counts_, at::kLong), field_splits, recv, field_splits);
  recv_counts_.assign(recv.data_ptr<int64_t>(), recv.data_ptr<int64_t>() + n * fields);

  // 2: the ids (as local rows of their owner), grouped by owner, then field.
  std::vector<int64_t> id_send(n, 0), id_recv(n, 0), row_send(n, 0), row_recv(n, 0);
  std::vector<uint32_t> ids;
  for (int r = 0; r < n; ++r) {
    for (size_t f = 0; f < fields; ++f) {
      const FieldPlan& p = plans_[f];
      for (uint32_t j : p.by_owner[r]) ids.push_back(p.unique[j] / static_cast<uint32_t>(n));
      const int64_t dim = tables[f].dim();
      id_send[r] += send_counts_[r * fields + f];
      id_recv[r] += recv_counts_[r * fields + f];
      row_send[r] += send_counts_[r * fields + f] * dim;
      row_recv[r] += recv_counts_[r * fields + f] * dim;
    }
  }
  comm_.all_to_all(view_of(ids, at::kInt), id_send, recv, id_recv);
  received_ids_.resize(recv.numel());
  std::memcpy(received_ids_.data(), recv.data_ptr<int32_t>(), recv.numel() * sizeof(uint32_t));

  // 3: the owners send the rows asked of them, in the order asked.
  std::vector<float> rows;
  size_t pos = 0;
  for (int s = 0; s < n; ++s) {
    for (size_t f = 0; f < fields; ++f) {
      const embed::EmbeddingTable& t = tables[f];
      for (int64_t i = 0; i < recv_counts_[s * fields + f]; ++i, ++pos) {
        const uint32_t local = received_ids_[pos];
        FUNNEL_CHECK(local < t.num_rows(), "row exchange: rank " << s << " asked for local row "
                                                                 << local << " of "
                                                                 << t.num_rows());
        rows.insert(rows.end(), t.row(local), t.row(local) + t.dim());
      }
    }
  }
  comm_.all_to_all(view_of(rows, at::kFloat), row_recv, recv, row_send);

  // The rows of each field's distinct ids, then pooled as an unsharded table pools them.
  const float* got = recv.data_ptr<float>();
  unique_rows_.resize(fields);
  for (size_t f = 0; f < fields; ++f) {
    unique_rows_[f].resize(plans_[f].unique.size() * tables[f].dim());
  }
  for (int r = 0; r < n; ++r) {
    for (size_t f = 0; f < fields; ++f) {
      const size_t dim = tables[f].dim();
      for (uint32_t j : plans_[f].by_owner[r]) {
        std::memcpy(unique_rows_[f].data() + j * dim, got, dim * sizeof(float));
        got += dim;
      }
    }
  }
  for (size_t f = 0; f < fields; ++f) {
    embed::SparseInput pooled = inputs[f];
    pooled.ids = plans_[f].inverse.data();
    embed::pool_into(unique_rows_[f].data(), tables[f].dim(), pooled, tables[f].options().pooling,
                     out + offsets[f], stride);
  }
}

void RowExchange::apply_gradients(std::vector<embed::EmbeddingTable>& tables,
                                  const std::vector<embed::SparseInput>& inputs,
                                  const std::vector<int64_t>& offsets, const float* grad,
                                  size_t stride) {
  const int n = comm_.world_size();
  const size_t fields = inputs.size();
  FUNNEL_CHECK(plans_.size() == fields && (fields == 0 || inputs[0].batch_size == planned_rows_),
               "row exchange: apply_gradients without the lookup of this batch");
  // 4: each distinct row's gradient (duplicates summed here) to its owner.
  std::vector<float> send;
  std::vector<int64_t> send_splits(n, 0), recv_splits(n, 0);
  std::vector<std::vector<float>> per_unique(fields);
  for (size_t f = 0; f < fields; ++f) {
    const FieldPlan& p = plans_[f];
    const size_t dim = tables[f].dim();
    per_unique[f].assign(p.unique.size() * dim, 0.0f);
    embed::SparseInput local = inputs[f];
    local.ids = p.inverse.data();
    accumulator_.accumulate(local, tables[f].options().pooling == embed::Pooling::kMean,
                            grad + offsets[f], stride, static_cast<uint32_t>(dim));
    for (size_t i = 0; i < accumulator_.size(); ++i) {
      std::memcpy(per_unique[f].data() + accumulator_.rows()[i] * dim,
                  accumulator_.grads() + i * dim, dim * sizeof(float));
    }
  }
  for (int r = 0; r < n; ++r) {
    for (size_t f = 0; f < fields; ++f) {
      const size_t dim = tables[f].dim();
      for (uint32_t j : plans_[f].by_owner[r]) {
        send.insert(send.end(), per_unique[f].data() + j * dim,
                    per_unique[f].data() + (j + 1) * dim);
      }
      send_splits[r] += send_counts_[r * fields + f] * static_cast<int64_t>(dim);
      recv_splits[r] += recv_counts_[r * fields + f] * static_cast<int64_t>(dim);
    }
  }
  at::Tensor recv;
  comm_.all_to_all(view_of(send, at::kFloat), send_splits, recv, recv_splits);

  // The owner: every rank's gradients of its rows, field by field; the table sums the
  // duplicates (a row several ranks touched) and steps each row once.
  const float* got = recv.data_ptr<float>();
  std::vector<std::vector<uint32_t>> ids(fields);
  std::vector<std::vector<float>> grads(fields);
  size_t pos = 0;
  for (int s = 0; s < n; ++s) {
    for (size_t f = 0; f < fields; ++f) {
      const size_t dim = tables[f].dim();
      const int64_t count = recv_counts_[s * fields + f];
      ids[f].insert(ids[f].end(), received_ids_.begin() + pos, received_ids_.begin() + pos + count);
      grads[f].insert(grads[f].end(), got, got + count * dim);
      got += count * dim;
      pos += count;
    }
  }
  for (size_t f = 0; f < fields; ++f) {
    if (ids[f].empty()) continue;
    embed::SparseInput in;
    in.ids = ids[f].data();
    in.num_ids = ids[f].size();
    in.batch_size = ids[f].size();
    tables[f].apply_gradients(in, grads[f].data(), tables[f].dim());
  }
}

}  // namespace funnel::model
