#pragma once
// Yields Batches from one cache split. Shuffling is a two-level shuffle buffer: the split is
// cut into blocks of consecutive rows, the block order is permuted, and the rows of a window
// of blocks are permuted together. Every row comes exactly once per epoch, reads stay
// block-local (good for page cache and CPU cache), and the same seed and epoch give the same
// order. A prefetch thread assembles the next batches while the trainer works.
//
// With `lists` the unit is the list (data/list_index.h): the lists are shuffled, not the
// rows, and a batch holds whole lists, each with its rows in list order, and their CSR
// offsets (Batch::list_offsets). A batch takes lists while they fit in batch_size rows (a
// list longer than that is a batch of its own) and, when lists_per_batch is set, at most that
// many lists. Per-row models train on such batches unchanged: a list batch is a row batch.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "data/batch.h"
#include "data/cache.h"
#include "data/list_index.h"

namespace funnel::data {

struct LoaderOptions {
  /// Rows per batch (the last batch of an epoch may be smaller unless drop_last).
  size_t batch_size = 1024;
  /// Random order per epoch; false = the split's order (evaluation, prediction).
  bool shuffle = true;
  uint64_t seed = 1;
  /// Rows per shuffle block, and blocks per shuffle window (window = 64 x 4096 rows).
  size_t block_rows = 4096;
  size_t window_blocks = 64;
  bool drop_last = false;
  /// Batches assembled ahead by a background thread; 0 = assemble in next() (no thread).
  size_t prefetch = 2;
  /// Optional row range [begin, end) of the split (end 0 = all rows).
  uint64_t begin_row = 0;
  uint64_t end_row = 0;
  /// Batches of whole lists (the split needs a list column); not with drop_last.
  bool lists = false;
  /// With `lists`: at most this many lists a batch (0 = only batch_size bounds it).
  size_t lists_per_batch = 0;
  /// Data-parallel: every batch of the order above (the global batch) is cut into `shards`
  /// contiguous parts of near-equal rows (lists with `lists`), and this loader yields part
  /// `shard` with Batch::global_size set. A global batch with fewer rows (lists) than shards
  /// is dropped on every rank alike (dropped_rows()), so all ranks make the same steps.
  size_t shard = 0;
  size_t shards = 1;
};

class Loader {
 public:
  Loader(const Cache& cache, const CacheSplit& split, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Starts epoch `epoch` (its shuffle order is a function of seed and epoch).
  void start_epoch(uint64_t epoch);
  /// Fills `batch` with the next batch; false at the end of the epoch. Rethrows errors of the
  /// prefetch thread.
  bool next(Batch& batch);

  uint64_t rows() const { return end_ - begin_; }
  /// Row batches: exact. List batches: the number of the split's order (the packing of a
  /// shuffled epoch differs by a few).
  uint64_t batches_per_epoch() const;
  /// With `lists`: the lists of the row range.
  const ListIndex& list_index() const { return lists_; }
  /// With shards > 1: rows of the global batches dropped so far (too few to cut; see
  /// LoaderOptions::shards), over all epochs. Read it after an epoch ended.
  uint64_t dropped_rows() const { return dropped_rows_; }

 private:
  /// Next row indices of the epoch order (up to `n`); empty at the end.
  void take_indices(size_t n, std::vector<uint64_t>& out);
  /// List batches: the rows of the next lists, and their offsets in list_offsets_.
  void take_lists(std::vector<uint64_t>& out);
  void refill_window();
  void gather(const std::vector<uint64_t>& rows, Batch& batch) const;
  /// Cuts indices_ (and list_offsets_) to this shard's part; false when a part would be empty.
  bool cut_shard();
  bool produce(Batch& batch);
  void stop_thread();
  void worker();

  const Cache& cache_;
  const CacheSplit& split_;
  LoaderOptions options_;
  uint64_t begin_, end_;
  bool started_ = false;
  std::vector<float> inv_std_;

  // Epoch order state.
  Rng rng_{0};
  std::vector<uint64_t> block_order_;
  size_t next_block_ = 0;
  std::vector<uint64_t> window_;
  size_t window_pos_ = 0;
  uint64_t sequential_next_ = 0;
  std::vector<uint64_t> indices_;
  ListIndex lists_;
  std::vector<uint64_t> list_order_;
  size_t next_list_ = 0;
  std::vector<uint64_t> list_offsets_;
  std::atomic<uint64_t> dropped_rows_{0};

  // Prefetch.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  std::vector<Batch> spare_;
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace funnel::data
