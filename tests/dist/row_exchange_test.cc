// The sharded lookup and update against one unsharded table: random multi-valued, weighted
// bags with duplicate ids within and across ranks, sum and mean pooling, 1 to 3 ranks.

#include "model/row_exchange.h"

#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <thread>

#include "core/rng.h"
#include "dist/process_group.h"

namespace funnel::model {
namespace {

struct Bags {
  std::vector<uint32_t> ids;
  std::vector<uint64_t> offsets{0};
  std::vector<float> weights;
  embed::SparseInput input() const {
    embed::SparseInput in;
    in.ids = ids.data();
    in.num_ids = ids.size();
    in.offsets = offsets.data();
    in.weights = weights.data();
    in.batch_size = offsets.size() - 1;
    return in;
  }
};

Bags random_bags(Rng& rng, size_t rows, uint32_t vocab) {
  Bags b;
  for (size_t r = 0; r < rows; ++r) {
    const size_t n = rng.below(4);  // 0 to 3 ids: empty bags too
    for (size_t k = 0; k < n; ++k) {
      // Skewed: a few hot ids repeat within and across ranks.
      b.ids.push_back(static_cast<uint32_t>(rng.uniform() < 0.5 ? rng.below(4) : rng.below(vocab)));
      b.weights.push_back(static_cast<float>(0.5 + rng.uniform()));
    }
    b.offsets.push_back(b.ids.size());
  }
  return b;
}

void check_against_one_table(int world, embed::Pooling pooling) {
  const uint32_t vocab = 37, dims[2] = {4, 3};
  const size_t rows_per_rank = 20;
  embed::TableOptions to;
  to.pooling = pooling;
  to.init = embed::Initializer::kNormal;
  to.init_scale = 0.3;
  // The reference: one table per field, the global batch (every rank's rows in rank order).
  Rng rng(11 + world);
  std::vector<std::vector<Bags>> bags(world, std::vector<Bags>(2));
  for (int r = 0; r < world; ++r) {
    for (int f = 0; f < 2; ++f) bags[r][f] = random_bags(rng, rows_per_rank, vocab);
  }
  const size_t stride = dims[0] + dims[1] + 2;  // a wider model input, like FeatureEmbedding's
  const std::vector<int64_t> offsets = {1, 1 + dims[0]};
  std::vector<std::vector<float>> grads(world, std::vector<float>(rows_per_rank * stride));
  for (auto& g : grads) {
    for (auto& v : g) v = static_cast<float>(rng.uniform() - 0.5);
  }
  std::vector<embed::EmbeddingTable> ref;
  std::vector<std::vector<float>> ref_out(world, std::vector<float>(rows_per_rank * stride, 0));
  for (int f = 0; f < 2; ++f) {
    to.seed = 5 + f;
    ref.emplace_back(vocab, dims[f], to);
    Bags all;
    std::vector<float> all_grad;
    for (int r = 0; r < world; ++r) {
      ref[f].lookup_into(bags[r][f].input(), ref_out[r].data() + offsets[f], stride);
      for (size_t k = 0; k < bags[r][f].ids.size(); ++k) {
        all.ids.push_back(bags[r][f].ids[k]);
        all.weights.push_back(bags[r][f].weights[k]);
      }
      for (size_t b = 1; b < bags[r][f].offsets.size(); ++b) {
        all.offsets.push_back(all.offsets.back() + bags[r][f].offsets[b] -
                              bags[r][f].offsets[b - 1]);
      }
      all_grad.insert(all_grad.end(), grads[r].begin(), grads[r].end());
    }
    ref[f].apply_gradients(all.input(), all_grad.data() + offsets[f], stride);
  }

  auto comms = dist::in_process_gloo(world, 20);
  std::vector<std::vector<embed::EmbeddingTable>> shards(world);
  for (int r = 0; r < world; ++r) {
    for (int f = 0; f < 2; ++f) {
      to.seed = 5 + f;
      shards[r].emplace_back(
          vocab, dims[f], to,
          embed::RowShard{static_cast<uint32_t>(r), static_cast<uint32_t>(world)});
    }
  }
  std::vector<std::vector<float>> out(world, std::vector<float>(rows_per_rank * stride, 0));
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        RowExchange x(*comms[r]);
        std::vector<embed::SparseInput> inputs = {bags[r][0].input(), bags[r][1].input()};
        x.lookup(shards[r], inputs, offsets, out[r].data(), stride);
        x.apply_gradients(shards[r], inputs, offsets, grads[r].data(), stride);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  for (int r = 0; r < world; ++r) {
    for (size_t b = 0; b < rows_per_rank; ++b) {
      for (int f = 0; f < 2; ++f) {
        for (uint32_t d = 0; d < dims[f]; ++d) {
          const size_t i = b * stride + offsets[f] + d;
          ASSERT_NEAR(out[r][i], ref_out[r][i], 1e-6) << "rank " << r << " row " << b;
        }
      }
    }
  }
  // After the update every row (touched or not) equals the reference table's.
  for (int f = 0; f < 2; ++f) {
    for (uint32_t id = 0; id < vocab; ++id) {
      const embed::RowShard s{id % static_cast<uint32_t>(world), static_cast<uint32_t>(world)};
      const float* got = shards[s.index][f].row(s.local_row(id));
      for (uint32_t d = 0; d < dims[f]; ++d) {
        ASSERT_NEAR(got[d], ref[f].row(id)[d], 1e-6) << "field " << f << " id " << id;
      }
    }
  }
}

TEST(RowExchange, OneRankEqualsOneTable) { check_against_one_table(1, embed::Pooling::kSum); }
TEST(RowExchange, TwoRanksEqualOneTableSumPooling) {
  check_against_one_table(2, embed::Pooling::kSum);
}
TEST(RowExchange, ThreeRanksEqualOneTableMeanPooling) {
  check_against_one_table(3, embed::Pooling::kMean);
}

TEST(ShardedTable, InitialRowsEqualTheWholeTables) {
  for (auto init : {embed::Initializer::kUniform, embed::Initializer::kNormal}) {
    embed::TableOptions to;
    to.init = init;
    to.seed = 3;
    // 9000 rows: more than one initialisation chunk; odd dim: normal pairs across rows.
    const embed::EmbeddingTable whole(9000, 5, to);
    for (uint32_t n : {2u, 3u}) {
      for (uint32_t r = 0; r < n; ++r) {
        const embed::EmbeddingTable part(9000, 5, to, embed::RowShard{r, n});
        ASSERT_EQ(part.num_rows(), embed::RowShard({r, n}).local_rows(9000));
        for (uint64_t l = 0; l < part.num_rows(); ++l) {
          for (int d = 0; d < 5; ++d) {
            ASSERT_EQ(part.row(l)[d], whole.row(l * n + r)[d]) << "shard " << r << "/" << n;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace funnel::model
