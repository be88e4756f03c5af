#include "dist/communicator.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <exception>
#include <functional>
#include <thread>

#include "core/error.h"
#include "dist/process_group.h"
#include "embed/row_shard.h"

namespace funnel::dist {
namespace {

/// Runs body(rank, comm) on one thread per rank; rethrows the first error.
void run_ranks(std::vector<std::unique_ptr<Communicator>>& comms,
               const std::function<void(int, Communicator&)>& body) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(comms.size());
  for (size_t r = 0; r < comms.size(); ++r) {
    threads.emplace_back([&, r] {
      try {
        body(static_cast<int>(r), *comms[r]);
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

TEST(RowShard, EveryIdHasExactlyOneOwnerAndLocalRow) {
  for (uint32_t n : {1u, 2u, 3u, 7u}) {
    for (uint64_t rows : {1ull, 5ull, 100ull, 101ull}) {
      std::vector<int> seen(rows, 0);
      uint64_t total = 0;
      for (uint32_t r = 0; r < n; ++r) {
        const embed::RowShard s{r, n};
        total += s.local_rows(rows);
        for (uint64_t l = 0; l < s.local_rows(rows); ++l) {
          const uint64_t id = s.global_id(l);
          ASSERT_LT(id, rows);
          EXPECT_EQ(s.owner(id), r);
          EXPECT_EQ(s.local_row(id), l);
          ++seen[id];
        }
      }
      EXPECT_EQ(total, rows);
      for (uint64_t id = 0; id < rows; ++id) EXPECT_EQ(seen[id], 1) << "id " << id;
    }
  }
}

TEST(LocalCommunicator, IsTheWorldOfOne) {
  LocalCommunicator c;
  at::Tensor t = at::arange(6, at::kFloat);
  c.all_reduce_sum(t);
  EXPECT_TRUE(t.equal(at::arange(6, at::kFloat)));
  at::Tensor recv;
  c.all_to_all(t, {6}, recv, {6});
  EXPECT_TRUE(recv.equal(t));
  EXPECT_THROW(c.all_to_all(t, {5}, recv, {5}), Error);
}

TEST(GlooCommunicator, AllReduceSumsAndEveryRankGetsTheSameBits) {
  auto comms = in_process_gloo(3, 20);
  std::vector<at::Tensor> results(3);
  run_ranks(comms, [&](int r, Communicator& c) {
    at::Tensor t = at::arange(1000, at::kFloat) * (0.1f + r);
    c.all_reduce_sum(t);
    results[r] = t;
    EXPECT_EQ(c.stats().all_reduce_calls, 1u);
  });
  const at::Tensor want = at::arange(1000, at::kFloat) * (0.1f + 1.1f + 2.1f);
  EXPECT_TRUE(results[0].allclose(want, 1e-5, 1e-4));
  EXPECT_TRUE(results[0].equal(results[1]));
  EXPECT_TRUE(results[0].equal(results[2]));
}

// Sizes that do not divide by the world (chunks of one, empty chunks), other dtypes and
// shapes: exact integer sums against the definition, the shape kept.
TEST(GlooCommunicator, AllReduceOfAnySizeAndDtypeIsTheSum) {
  auto comms = in_process_gloo(3, 20);
  for (const int64_t n : {1, 2, 3, 7, 1001}) {
    std::vector<at::Tensor> got(3);
    run_ranks(comms, [&](int r, Communicator& c) {
      at::Tensor t = (at::arange(n, at::kLong) * (r + 1) + 10 * r).view({n, 1});
      c.all_reduce_sum(t);
      got[r] = t;
    });
    // sum over r of (i (r + 1) + 10 r) = 6 i + 30
    const at::Tensor want = (at::arange(n, at::kLong) * 6 + 30).view({n, 1});
    for (int r = 0; r < 3; ++r) EXPECT_TRUE(got[r].equal(want)) << "n " << n << " rank " << r;
  }
  run_ranks(comms, [&](int r, Communicator& c) {
    at::Tensor t = at::full({2, 3}, 0.5 * (r + 1), at::kDouble);
    c.all_reduce_sum(t);
    EXPECT_TRUE(t.equal(at::full({2, 3}, 3.0, at::kDouble)));
  });
}

TEST(GlooCommunicator, AllToAllWithUnevenAndEmptySplitsMatchesTheReference) {
  // Rank s sends (s + 1) * (r + 1) % 3 rows of width 2 to rank r, each row tagged (s, r, k).
  const int n = 3;
  auto rows = [](int s, int r) { return int64_t{((s + 1) * (r + 1)) % 3}; };
  auto comms = in_process_gloo(n, 20);
  run_ranks(comms, [&](int me, Communicator& c) {
    std::vector<at::Tensor> parts;
    std::vector<int64_t> send_splits, recv_splits;
    for (int r = 0; r < n; ++r) {
      send_splits.push_back(rows(me, r));
      recv_splits.push_back(rows(r, me));
      for (int64_t k = 0; k < rows(me, r); ++k) {
        parts.push_back(at::full({1, 2}, 100.0 * me + 10.0 * r + k, at::kDouble));
      }
    }
    const at::Tensor send = parts.empty() ? at::zeros({0, 2}, at::kDouble) : at::cat(parts);
    at::Tensor recv;
    c.all_to_all(send, send_splits, recv, recv_splits);
    int64_t i = 0;
    for (int s = 0; s < n; ++s) {
      for (int64_t k = 0; k < rows(s, me); ++k, ++i) {
        EXPECT_EQ(recv[i][0].item<double>(), 100.0 * s + 10.0 * me + k);
        EXPECT_EQ(recv[i][1].item<double>(), 100.0 * s + 10.0 * me + k);
      }
    }
    EXPECT_EQ(recv.size(0), i);
  });
}

TEST(GlooCommunicator, BroadcastAndAllGather) {
  auto comms = in_process_gloo(2, 20);
  run_ranks(comms, [&](int r, Communicator& c) {
    at::Tensor t = at::full({4}, r + 1, at::kLong);
    c.broadcast(t, 1);
    EXPECT_TRUE(t.equal(at::full({4}, 2, at::kLong)));
    const std::vector<at::Tensor> all = c.all_gather(at::full({3}, 10 * r, at::kFloat));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_TRUE(all[0].equal(at::full({3}, 0, at::kFloat)));
    EXPECT_TRUE(all[1].equal(at::full({3}, 10, at::kFloat)));
    c.barrier();
  });
}

}  // namespace
}  // namespace funnel::dist
