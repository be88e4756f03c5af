#include "model/feature_embedding.h"

#include <ATen/ops/from_blob.h>
#include <torch/nn/module.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>
#include <variant>

#include "core/error.h"
#include "core/rng.h"
#include "embed/binary_io.h"
#include "model/row_exchange.h"

namespace funnel::model {

namespace {

constexpr uint32_t kMagic = 0x4D454646;  // "FFEM"
constexpr uint32_t kVersion = 1;

/// The seed of table t (= set * fields + field): set 0 is seeded as a shared table set, so
/// per_task's first set starts where shared would.
uint64_t table_seed(uint64_t seed, size_t t) {
  uint64_t state = seed ^ (0x9e3779b97f4a7c15ULL * (t + 1));
  return splitmix64(state);
}

double optimizer_lr(const embed::OptimizerOptions& o) {
  return std::visit([](const auto& opt) { return opt.lr; }, o);
}

}  // namespace

FeatureEmbedding::FeatureEmbedding(const data::Layout& layout,
                                   const std::vector<uint64_t>& vocab_sizes,
                                   FeatureEmbeddingOptions options, torch::Device device,
                                   dist::Communicator* comm)
    : seed_(options.table.seed),
      sharing_(options.sharing),
      device_(device),
      layout_(layout),
      vocab_sizes_(vocab_sizes),
      options_(options) {
  if (comm != nullptr && comm->world_size() > 1) {
    comm_ = comm;
    exchange_ = std::make_unique<RowExchange>(*comm);
  }
  const embed::RowShard shard = comm_ ? embed::RowShard{static_cast<uint32_t>(comm_->rank()),
                                                        static_cast<uint32_t>(comm_->world_size())}
                                      : embed::RowShard{};
  FUNNEL_CHECK(vocab_sizes.size() == layout.sparse.size(),
               "feature embedding: " << vocab_sizes.size() << " vocabulary sizes for "
                                     << layout.sparse.size() << " sparse fields");
  FUNNEL_CHECK(options.embedding_dim >= 1, "feature embedding: embedding_dim must be >= 1");
  const bool per_task = sharing_ == EmbeddingSharing::kPerTask;
  FUNNEL_CHECK(!per_task || !layout.events.empty(),
               "feature embedding: per_task sharing needs the funnel's events");
  num_fields_ = layout.sparse.size();
  num_sets_ = per_task ? layout.events.size() : 1;
  tables_.reserve(num_sets_ * num_fields_);
  int64_t column = 0;
  for (size_t s = 0; s < num_sets_; ++s) {
    for (size_t f = 0; f < num_fields_; ++f) {
      const data::SparseField& field = layout.sparse[f];
      FUNNEL_CHECK(field.dim >= 0,
                   "feature embedding: field '" << field.name << "' has dim " << field.dim);
      const uint32_t dim = field.dim > 0 ? static_cast<uint32_t>(field.dim) : options.embedding_dim;
      const std::string name = per_task ? field.name + "@" + layout.events[s] : field.name;
      embed::TableOptions t = options.table;
      t.seed = table_seed(options.table.seed, tables_.size());
      try {
        tables_.emplace_back(vocab_sizes[f], dim, t, shard);
        tables_.back().optimizer().set_frequency_decay(options.frequency_weight_decay);
      } catch (const Error& e) {
        throw Error("feature embedding: field '" + name + "': " + e.what());
      }
      names_.push_back(name);
      offsets_.push_back(column);
      base_lr_.push_back(optimizer_lr(t.optimizer));
      column += dim;
    }
    if (s == 0) set_width_ = column;
  }
  dense_offset_ = column;
  num_dense_ = layout.dense.size();
  input_dim_ = column + static_cast<int64_t>(num_dense_);
  FUNNEL_CHECK(input_dim_ > 0, "feature embedding: the layout has no sparse or dense features");
}

FeatureEmbedding::~FeatureEmbedding() = default;

std::vector<embed::SparseInput> FeatureEmbedding::field_inputs(const data::Batch& batch) const {
  std::vector<embed::SparseInput> inputs;
  // One per table: table t reads field t mod fields (per_task holds a set per event).
  for (size_t t = 0; t < tables_.size(); ++t) inputs.push_back(field_input(batch, t % num_fields_));
  return inputs;
}

embed::SparseInput FeatureEmbedding::field_input(const data::Batch& batch, size_t f) const {
  const data::SparseBatch& s = batch.sparse.at(f);
  embed::SparseInput in;
  in.ids = s.ids.data();
  in.num_ids = s.ids.size();
  in.offsets = s.offsets.empty() ? nullptr : s.offsets.data();
  in.weights = s.weights.empty() ? nullptr : s.weights.data();
  in.batch_size = batch.size;
  return in;
}

void FeatureEmbedding::check_batch(const data::Batch& batch) const {
  FUNNEL_CHECK(batch.sparse.size() == num_fields_,
               "feature embedding: batch has " << batch.sparse.size() << " sparse fields, expected "
                                               << num_fields_);
  for (size_t f = 0; f < num_fields_; ++f) {
    const data::SparseBatch& s = batch.sparse[f];
    FUNNEL_CHECK(s.offsets.empty() || s.offsets.size() == batch.size + 1,
                 "feature embedding: field '" << names_[f] << "' has " << s.offsets.size()
                                              << " offsets for " << batch.size << " rows");
    FUNNEL_CHECK(s.weights.empty() || s.weights.size() == s.ids.size(),
                 "feature embedding: field '" << names_[f] << "' has " << s.weights.size()
                                              << " weights for " << s.ids.size() << " ids");
  }
  FUNNEL_CHECK(batch.num_dense == num_dense_ && batch.dense.size() == batch.size * num_dense_,
               "feature embedding: batch has " << batch.num_dense << " dense features ("
                                               << batch.dense.size() << " values for " << batch.size
                                               << " rows), expected " << num_dense_);
}

torch::Tensor FeatureEmbedding::lookup(const data::Batch& batch) const {
  check_batch(batch);
  const int64_t rows = static_cast<int64_t>(batch.size);
  torch::Tensor x = torch::empty({rows, input_dim_}, torch::TensorOptions().dtype(torch::kFloat32));
  float* out = x.data_ptr<float>();
  const size_t stride = static_cast<size_t>(input_dim_);
  if (exchange_) {
    exchange_->lookup(tables_, field_inputs(batch), offsets_, out, stride);
  } else {
    for (size_t t = 0; t < tables_.size(); ++t) {
      try {
        tables_[t].lookup_into(field_input(batch, t % num_fields_), out + offsets_[t], stride);
      } catch (const Error& e) {
        throw Error("feature embedding: field '" + names_[t] + "': " + e.what());
      }
    }
  }
  if (num_dense_ > 0) {
    for (size_t b = 0; b < batch.size; ++b) {
      std::memcpy(out + b * stride + dense_offset_, batch.dense.data() + b * num_dense_,
                  num_dense_ * sizeof(float));
    }
  }
  // The copy of a tensor that does not require grad has no grad_fn: making it require grad
  // turns it into the leaf, on the model's device.
  if (device_ != x.device()) x = x.to(device_);
  return x.requires_grad_(true);
}

ModelInput FeatureEmbedding::model_input(const data::Batch& batch, const torch::Tensor& x,
                                         bool feedback) const {
  ModelInput in = model::model_input(batch, x, feedback);
  if ((!batch.uniform_sparse.empty() || !batch.uniform_dense.empty()) && batch.size >= 2) {
    // In the columns of a tower's rows (x, or a task's [set | dense]): field f of set 0's
    // columns, then the dense features after the set's width.
    std::vector<int64_t> shared;
    for (uint32_t f : batch.uniform_sparse) {
      FUNNEL_CHECK(f < num_fields_, "feature embedding: uniform field " << f << " of "
                                                                       << num_fields_);
      for (int64_t c = 0; c < field_dim(f); ++c) shared.push_back(offsets_[f] + c);
    }
    for (uint32_t d : batch.uniform_dense) {
      FUNNEL_CHECK(d < num_dense_, "feature embedding: uniform dense feature " << d << " of "
                                                                              << num_dense_);
      shared.push_back(set_width_ + d);
    }
    in.uniform = uniform_columns(shared, tower_input_dim(), x.device());
  }
  if (sharing_ == EmbeddingSharing::kShared) return in;
  // Tower e: its set's columns, then the dense features (which every tower reads).
  const int64_t dense = static_cast<int64_t>(num_dense_);
  for (size_t s = 0; s < num_sets_; ++s) {
    torch::Tensor own = x.narrow(1, static_cast<int64_t>(s) * set_width_, set_width_);
    in.tasks.push_back(dense == 0 ? own : torch::cat({own, x.narrow(1, dense_offset_, dense)}, 1));
  }
  return in;
}

void FeatureEmbedding::reinitialize(uint64_t seed) {
  for (size_t t = 0; t < tables_.size(); ++t) tables_[t].reset(table_seed(seed, t));
}

void FeatureEmbedding::set_lr_scale(double scale) {
  FUNNEL_CHECK(scale >= 0 && std::isfinite(scale),
               "feature embedding: lr scale must be finite and >= 0, got " << scale);
  lr_scale_ = scale;
  for (size_t t = 0; t < tables_.size(); ++t) {
    tables_[t].optimizer().set_lr(base_lr_[t] * scale);
  }
}

void FeatureEmbedding::apply_gradients(const data::Batch& batch, const torch::Tensor& grad) {
  if (!grad.defined() || lr_scale_ == 0) return;
  check_batch(batch);
  FUNNEL_CHECK(grad.dim() == 2 && grad.size(0) == static_cast<int64_t>(batch.size) &&
                   grad.size(1) == input_dim_,
               "feature embedding: gradient has shape " << grad.sizes() << ", expected ["
                                                        << batch.size << ", " << input_dim_ << "]");
  FUNNEL_CHECK(grad.scalar_type() == torch::kFloat32,
               "feature embedding: gradient must be float32, got " << grad.scalar_type());
  torch::Tensor g = grad.device().is_cpu() ? grad : grad.to(torch::kCPU);
  // Each table reads rows at any stride (0 included) but needs unit column stride.
  if (g.size(1) > 1 && g.stride(1) != 1) g = g.contiguous();
  if (g.stride(0) < 0) g = g.contiguous();
  const float* base = g.data_ptr<float>();
  const size_t stride = static_cast<size_t>(g.stride(0));
  if (exchange_) {
    exchange_->apply_gradients(tables_, field_inputs(batch), offsets_, base, stride);
    return;
  }
  for (size_t t = 0; t < tables_.size(); ++t) {
    tables_[t].apply_gradients(field_input(batch, t % num_fields_), base + offsets_[t], stride);
  }
}

size_t FeatureEmbedding::memory_bytes() const {
  size_t bytes = 0;
  for (const auto& t : tables_) bytes += t.memory_bytes();
  return bytes;
}

std::unique_ptr<FeatureEmbedding> FeatureEmbedding::gather(int root) const {
  FUNNEL_CHECK(comm_ != nullptr, "feature embedding: gather() of tables that are not sharded");
  const int n = comm_->world_size();
  const int me = comm_->rank();
  std::unique_ptr<FeatureEmbedding> whole;
  if (me == root) {
    FeatureEmbeddingOptions o = options_;
    o.table.init = embed::Initializer::kZeros;  // every row is overwritten below
    whole = std::make_unique<FeatureEmbedding>(layout_, vocab_sizes_, o, device_);
  }
  for (size_t f = 0; f < tables_.size(); ++f) {
    // Every rank sends its rows to the root (an all-to-all with empty parts elsewhere).
    const embed::EmbeddingTable& t = tables_[f];
    const int64_t held = static_cast<int64_t>(t.shard().local_rows(t.global_rows()));
    std::vector<int64_t> send(n, 0), recv(n, 0);
    send[root] = held * t.dim();
    if (me == root) {
      for (int r = 0; r < n; ++r) {
        const embed::RowShard s{static_cast<uint32_t>(r), static_cast<uint32_t>(n)};
        recv[r] = static_cast<int64_t>(s.local_rows(t.global_rows())) * t.dim();
      }
    }
    at::Tensor out;
    const at::Tensor mine = at::from_blob(const_cast<float*>(t.data()), {held * t.dim()},
                                          at::TensorOptions(at::kFloat));
    comm_->all_to_all(mine, send, out, recv);
    if (me != root) continue;
    const float* got = out.data_ptr<float>();
    embed::EmbeddingTable& w = whole->tables_[f];
    for (int r = 0; r < n; ++r) {
      const embed::RowShard s{static_cast<uint32_t>(r), static_cast<uint32_t>(n)};
      for (uint64_t l = 0; l < s.local_rows(t.global_rows()); ++l) {
        std::memcpy(w.row(s.global_id(l)), got, t.dim() * sizeof(float));
        got += t.dim();
      }
    }
  }
  return whole;
}

void FeatureEmbedding::save(std::ostream& os, bool with_optimizer_state) const {
  embed::io::write_pod(os, kMagic, "feature embedding magic");
  embed::io::write_pod(os, kVersion, "feature embedding version");
  embed::io::write_pod(os, static_cast<uint32_t>(tables_.size()), "number of fields");
  for (size_t f = 0; f < tables_.size(); ++f) {
    embed::io::write_pod(os, static_cast<uint32_t>(names_[f].size()), "field name length");
    embed::io::write_bytes(os, names_[f].data(), names_[f].size(), "field name");
    tables_[f].save(os, with_optimizer_state);
  }
}

void FeatureEmbedding::load(std::istream& is) {
  const auto magic = embed::io::read_pod<uint32_t>(is, "feature embedding magic");
  FUNNEL_CHECK(magic == kMagic,
               "feature embedding: bad magic " << magic << ", expected " << kMagic);
  const auto version = embed::io::read_pod<uint32_t>(is, "feature embedding version");
  FUNNEL_CHECK(version == kVersion, "feature embedding: unsupported format version "
                                        << version << ", expected " << kVersion);
  const auto count = embed::io::read_pod<uint32_t>(is, "number of fields");
  FUNNEL_CHECK(count == tables_.size(),
               "feature embedding: stream has " << count << " fields, expected " << tables_.size());
  for (size_t f = 0; f < tables_.size(); ++f) {
    const auto len = embed::io::read_pod<uint32_t>(is, "field name length");
    FUNNEL_CHECK(len <= 4096, "feature embedding: implausible field name length " << len);
    std::string name(len, '\0');
    embed::io::read_bytes(is, name.data(), len, "field name");
    FUNNEL_CHECK(name == names_[f], "feature embedding: field " << f << " is '" << name
                                                                << "' in the stream, expected '"
                                                                << names_[f] << "'");
    try {
      tables_[f].load(is);
    } catch (const Error& e) {
      throw Error("feature embedding: field '" + names_[f] + "': " + e.what());
    }
  }
}

}  // namespace funnel::model
