#include "embed/embedding_table.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <istream>
#include <ostream>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "embed/binary_io.h"
#include "embed/kernels.h"

namespace funnel::embed {

namespace {

constexpr uint32_t kMagic = 0x424D4546;     // "FEMB" in a little-endian file
constexpr uint32_t kEndMagic = 0x444E4546;  // "FEND"
constexpr uint32_t kVersion = 1;

template <int kDim>
void pool_rows(const float* __restrict table, uint32_t dim, const SparseInput& in, bool mean,
               float* out, size_t row_stride) {
  const size_t d = detail::width<kDim>(dim);
  const size_t last = in.batch_size == 0 ? 0 : in.end(in.batch_size - 1);
  for (size_t b = 0; b < in.batch_size; ++b) {
    float* __restrict o = out + b * row_stride;
    const size_t begin = in.begin(b);
    const size_t end = in.end(b);
    if (begin == end) {
      std::memset(o, 0, d * sizeof(float));
      continue;
    }
    // First id writes, the rest accumulate: no separate zeroing pass.
    for (size_t pos = begin; pos < end; ++pos) {
      if (pos + detail::kPrefetchDistance < last) {
        detail::prefetch_read(table + size_t{in.ids[pos + detail::kPrefetchDistance]} * d);
      }
      const float* __restrict e = table + size_t{in.ids[pos]} * d;
      const float w = in.weight(pos);
      if (pos == begin) {
        for (size_t j = 0; j < d; ++j) o[j] = w * e[j];
      } else {
        for (size_t j = 0; j < d; ++j) o[j] += w * e[j];
      }
    }
    if (mean && end - begin > 1) {
      const float inv = 1.0f / static_cast<float>(end - begin);
      for (size_t j = 0; j < d; ++j) o[j] *= inv;
    }
  }
}

// Box-Muller on funnel::Rng: deterministic across platforms, unlike std::normal_distribution.
void fill_normal(Rng& rng, float* out, size_t n, double stddev) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (size_t i = 0; i < n; i += 2) {
    const double u1 = 1.0 - rng.uniform();  // (0, 1]: log is finite
    const double u2 = rng.uniform();
    const double r = std::sqrt(-2.0 * std::log(u1)) * stddev;
    out[i] = static_cast<float>(r * std::cos(kTwoPi * u2));
    if (i + 1 < n) out[i + 1] = static_cast<float>(r * std::sin(kTwoPi * u2));
  }
}

void check_header_field(uint64_t got, uint64_t want, const char* what) {
  FUNNEL_CHECK(got == want,
               "embedding table: stream has " << what << " = " << got << ", table has " << want);
}

struct Header {
  uint64_t num_rows;
  uint32_t dim;
  Pooling pooling;
  OptimizerOptions optimizer;
  bool has_state;
};

Header read_header(std::istream& is) {
  const auto magic = io::read_pod<uint32_t>(is, "magic");
  FUNNEL_CHECK(magic == kMagic,
               "embedding table: bad magic 0x" << std::hex << magic << " (not an embedding table)");
  const auto version = io::read_pod<uint32_t>(is, "version");
  FUNNEL_CHECK(version == kVersion, "embedding table: unsupported format version "
                                        << version << " (this build reads " << kVersion << ")");
  Header h;
  h.num_rows = io::read_pod<uint64_t>(is, "num_rows");
  h.dim = io::read_pod<uint32_t>(is, "dim");
  const auto pooling = io::read_pod<uint32_t>(is, "pooling");
  FUNNEL_CHECK(pooling <= static_cast<uint32_t>(Pooling::kMean),
               "embedding table: bad pooling " << pooling);
  h.pooling = static_cast<Pooling>(pooling);
  h.optimizer = read_optimizer_options(is);
  h.has_state = io::read_pod<uint32_t>(is, "state flag") != 0;
  return h;
}

}  // namespace

void pool_into(const float* rows, uint32_t dim, const SparseInput& input, Pooling pooling,
               float* out, size_t row_stride) {
  const bool mean = pooling == Pooling::kMean;
  detail::dispatch_dim(
      dim, [&](auto k) { pool_rows<decltype(k)::value>(rows, dim, input, mean, out, row_stride); });
}

EmbeddingTable::EmbeddingTable(uint64_t num_rows, uint32_t dim, TableOptions options,
                               RowShard shard)
    : num_rows_(shard.local_rows(num_rows)),
      global_rows_(num_rows),
      shard_(shard),
      dim_(dim),
      options_(std::move(options)) {
  FUNNEL_CHECK(num_rows >= 1 && num_rows <= uint64_t{0xFFFFFFFF},
               "embedding table: num_rows must be in [1, 2^32 - 1], got " << num_rows);
  FUNNEL_CHECK(shard.count >= 1 && shard.index < shard.count,
               "embedding table: shard " << shard.index << " of " << shard.count);
  // A shard of a table smaller than the world holds no row; it keeps one (never read) so
  // that every table has storage.
  if (num_rows_ == 0) num_rows_ = 1;
  FUNNEL_CHECK(dim >= 1, "embedding table: dim must be >= 1, got " << dim);
  FUNNEL_CHECK(options_.init_scale >= 0,
               "embedding table: init_scale must be >= 0, got " << options_.init_scale);
  weights_ = ZeroedArray<float>(num_rows_ * dim_);
  optimizer_ = make_optimizer(options_.optimizer, num_rows_, dim_);
  initialize();
}

EmbeddingTable::~EmbeddingTable() = default;
EmbeddingTable::EmbeddingTable(EmbeddingTable&&) noexcept = default;
EmbeddingTable& EmbeddingTable::operator=(EmbeddingTable&&) noexcept = default;

void EmbeddingTable::reset(uint64_t seed) {
  options_.seed = seed;
  if (options_.init == Initializer::kZeros) {
    std::memset(weights_.data(), 0, weights_.bytes());
  } else {
    initialize();
  }
  optimizer_->reset_state();
}

void EmbeddingTable::initialize() {
  if (shard_.sharded()) {
    initialize_shard();
    return;
  }
  float* w = weights_.data();
  const size_t n = weights_.size();
  Rng rng(options_.seed);
  switch (options_.init) {
    case Initializer::kZeros:
      break;  // calloc'ed (reset() zeroes explicitly)
    case Initializer::kUniform: {
      const double a = options_.init_scale;
      for (size_t i = 0; i < n; ++i) w[i] = static_cast<float>(a * (2.0 * rng.uniform() - 1.0));
      break;
    }
    case Initializer::kNormal:
      fill_normal(rng, w, n, options_.init_scale);
      break;
  }
}

void EmbeddingTable::initialize_shard() {
  if (options_.init == Initializer::kZeros) return;
  // The whole table's random stream, chunk by chunk (an even number of values per chunk, so
  // the normal pairs fall as in one pass), keeping this shard's rows: the same values as an
  // unsharded table at O(chunk) extra memory.
  constexpr uint64_t kChunkRows = 4096;
  std::vector<float> chunk(kChunkRows * dim_);
  Rng rng(options_.seed);
  const double a = options_.init_scale;
  for (uint64_t first = 0; first < global_rows_; first += kChunkRows) {
    const uint64_t rows = std::min(kChunkRows, global_rows_ - first);
    const size_t n = rows * dim_;
    if (options_.init == Initializer::kUniform) {
      for (size_t i = 0; i < n; ++i) chunk[i] = static_cast<float>(a * (2.0 * rng.uniform() - 1.0));
    } else {
      fill_normal(rng, chunk.data(), n, a);
    }
    for (uint64_t id = first; id < first + rows; ++id) {
      if (shard_.owner(id) != shard_.index) continue;
      std::memcpy(row(shard_.local_row(id)), chunk.data() + (id - first) * dim_,
                  dim_ * sizeof(float));
    }
  }
}

void EmbeddingTable::lookup_into(const SparseInput& input, float* out, size_t row_stride) const {
  validate(input, num_rows_);
  FUNNEL_CHECK(input.batch_size <= 1 || row_stride >= dim_,
               "embedding lookup: row_stride " << row_stride << " < dim " << dim_);
  const bool mean = options_.pooling == Pooling::kMean;
  detail::dispatch_dim(dim_, [&](auto k) {
    pool_rows<decltype(k)::value>(weights_.data(), dim_, input, mean, out, row_stride);
  });
}

at::Tensor EmbeddingTable::lookup(const SparseInput& input) const {
  at::Tensor out =
      at::empty({static_cast<int64_t>(input.batch_size), dim_}, at::TensorOptions(at::kFloat));
  lookup_into(input, out.data_ptr<float>(), dim_);
  return out.requires_grad_(true);
}

void EmbeddingTable::apply_gradients(const SparseInput& input, const float* grad,
                                     size_t row_stride) {
  // Any row_stride is fine here, 0 included (one gradient row broadcast to the batch).
  validate(input, num_rows_);
  accumulator_.accumulate(input, options_.pooling == Pooling::kMean, grad, row_stride, dim_);
  optimizer_->update(weights_.data(), accumulator_.rows(), accumulator_.grads(),
                     accumulator_.size());
}

void EmbeddingTable::apply_gradients(const SparseInput& input, const at::Tensor& grad) {
  if (!grad.defined()) return;
  FUNNEL_CHECK(grad.dim() == 2 && grad.size(0) == static_cast<int64_t>(input.batch_size) &&
                   grad.size(1) == dim_,
               "embedding apply_gradients: gradient has shape "
                   << grad.sizes() << ", expected [" << input.batch_size << ", " << dim_ << "]");
  FUNNEL_CHECK(grad.scalar_type() == at::kFloat && grad.device().is_cpu(),
               "embedding apply_gradients: gradient must be a float32 CPU tensor, got "
                   << grad.scalar_type() << " on " << grad.device());
  // Rows may be strided (a column slice of a concatenated gradient); columns must not be.
  const bool usable = grad.size(1) <= 1 || grad.stride(1) == 1;
  const at::Tensor g = usable && grad.stride(0) >= 0 ? grad : grad.contiguous();
  apply_gradients(input, g.data_ptr<float>(), static_cast<size_t>(g.stride(0)));
}

void EmbeddingTable::save(std::ostream& os, bool with_optimizer_state) const {
  io::write_pod(os, kMagic, "magic");
  io::write_pod(os, kVersion, "version");
  io::write_pod(os, num_rows_, "num_rows");
  io::write_pod(os, dim_, "dim");
  io::write_pod(os, static_cast<uint32_t>(options_.pooling), "pooling");
  write_optimizer_options(os, optimizer_->options());
  io::write_pod(os, uint32_t{with_optimizer_state ? 1u : 0u}, "state flag");
  io::write_bytes(os, weights_.data(), weights_.bytes(), "weights");
  if (with_optimizer_state) optimizer_->save_state(os);
  io::write_pod(os, kEndMagic, "end marker");
}

void EmbeddingTable::load(std::istream& is) {
  const Header h = read_header(is);
  check_header_field(h.num_rows, num_rows_, "num_rows");
  check_header_field(h.dim, dim_, "dim");
  check_header_field(static_cast<uint32_t>(h.pooling), static_cast<uint32_t>(options_.pooling),
                     "pooling");
  const OptimizerKind kind = optimizer_kind(h.optimizer);
  FUNNEL_CHECK(kind == optimizer_->kind(), "embedding table: stream has optimizer '"
                                               << optimizer_name(kind) << "', table has '"
                                               << optimizer_name(optimizer_->kind()) << "'");
  read_body(is, h.has_state);
}

void EmbeddingTable::read_body(std::istream& is, bool has_state) {
  io::read_bytes(is, weights_.data(), weights_.bytes(), "weights");
  if (has_state) {
    optimizer_->load_state(is);
  } else {
    optimizer_->reset_state();
  }
  const auto end = io::read_pod<uint32_t>(is, "end marker");
  FUNNEL_CHECK(end == kEndMagic, "embedding table: bad end marker (corrupt stream)");
}

EmbeddingTable EmbeddingTable::read(std::istream& is) {
  const Header h = read_header(is);
  FUNNEL_CHECK(h.num_rows >= 1 && h.num_rows <= uint64_t{0xFFFFFFFF} && h.dim >= 1,
               "embedding table: bad shape " << h.num_rows << " x " << h.dim);
  TableOptions options;
  options.pooling = h.pooling;
  options.init = Initializer::kZeros;  // overwritten by the stream
  options.init_scale = 0;
  options.optimizer = h.optimizer;
  EmbeddingTable table(h.num_rows, h.dim, options);
  table.read_body(is, h.has_state);
  return table;
}

}  // namespace funnel::embed
