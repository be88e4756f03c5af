#include "data/split_writer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "data/cache_format.h"

namespace funnel::data {

SplitWriter::SplitWriter(std::string dir, const Layout& layout)
    : dir_(std::move(dir)), layout_(layout) {
  make_dirs(dir_);
  columns_ = std::make_unique<RowColumnWriter>(dir_, layout_);
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    const int i = static_cast<int>(f);
    keys_.push_back(open(cache::field_file(i, cache::kStagedKeys)));
    lengths_.push_back(layout_.sparse[f].multi ? open(cache::field_file(i, cache::kStagedLengths))
                                               : nullptr);
    weights_.push_back(layout_.sparse[f].weighted ? open(cache::field_file(i, cache::kWeights))
                                                  : nullptr);
  }
}

SplitWriter::~SplitWriter() = default;

std::unique_ptr<FileWriter> SplitWriter::open(const std::string& name) {
  return std::make_unique<FileWriter>(join_path(dir_, name), size_t{256} << 10);
}

void SplitWriter::append(const EncodedRow& row) {
  columns_->append(row.labels.data(), row.dense.data(), row.group, row.list, row.position,
                   row.timestamp, row.aux.data());
  for (size_t f = 0; f < keys_.size(); ++f) {
    if (lengths_[f]) {
      const auto& k = row.keys[f];
      lengths_[f]->write_pod(static_cast<uint32_t>(k.size()));
      if (k.empty()) continue;  // an empty bag's data() may be null (memcpy must not see it)
      keys_[f]->write(k.data(), k.size() * sizeof(uint64_t));
      if (weights_[f]) weights_[f]->write(row.weights[f].data(), k.size() * sizeof(float));
    } else {
      keys_[f]->write_pod(row.single[f]);
    }
  }
  ++rows_;
}

void SplitWriter::close() {
  columns_->close();
  for (auto& w : keys_) w->close();
  for (auto& w : lengths_) {
    if (w) w->close();
  }
  for (auto& w : weights_) {
    if (w) w->close();
  }
}

std::vector<SparseFieldStats> SplitWriter::finalize(const std::vector<Vocabulary>& vocabs) {
  FUNNEL_CHECK(vocabs.size() == layout_.sparse.size(), "finalize: one vocabulary per field");
  std::vector<SparseFieldStats> stats;
  constexpr size_t kChunk = 1 << 16;
  std::vector<uint64_t> keys(kChunk);
  std::vector<uint32_t> lens(kChunk);
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    const int fi = static_cast<int>(f);
    const Vocabulary& vocab = vocabs[f];
    SparseColumnWriter out(dir_, layout_, f);
    const std::string keys_path = join_path(dir_, cache::field_file(fi, cache::kStagedKeys));
    {
      // Streamed with read(2), not mapped: staged keys of multi-valued fields run to GBs, and
      // mapped pages would count toward the conversion's resident memory.
      SequentialFile keys_file(keys_path);
      for (;;) {
        const size_t m = keys_file.read(keys.data(), kChunk * sizeof(uint64_t)) / sizeof(uint64_t);
        if (m == 0) break;
        constexpr size_t kAhead = 16;
        for (size_t i = 0; i + kAhead < m; ++i) vocab.prefetch(keys[i + kAhead]);
        for (size_t i = 0; i < m; ++i) {
          // Key 0 (missing) occurs only in single-valued fields: bags never stage it.
          if (keys[i] == 0) {
            out.add_missing();
          } else {
            out.add(vocab.id(keys[i]));
          }
        }
      }
    }
    remove_all(keys_path);
    if (layout_.sparse[f].multi) {
      const std::string len_path = join_path(dir_, cache::field_file(fi, cache::kStagedLengths));
      {
        SequentialFile len_file(len_path);
        for (;;) {
          const size_t m = len_file.read(lens.data(), kChunk * sizeof(uint32_t)) / sizeof(uint32_t);
          if (m == 0) break;
          for (size_t r = 0; r < m; ++r) out.add_length(lens[r]);
        }
      }
      remove_all(len_path);
    }
    stats.push_back(out.finish(rows_));
  }
  return stats;
}

}  // namespace funnel::data
