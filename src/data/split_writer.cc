#include "data/split_writer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "data/cache_format.h"

namespace funnel::data {

SplitWriter::SplitWriter(std::string dir, const Layout& layout)
    : dir_(std::move(dir)), layout_(layout) {
  make_dirs(dir_);
  labels_ = open(cache::kLabels);
  if (!layout_.dense.empty()) dense_ = open(cache::kDense);
  if (layout_.has_group) group_ = open(cache::kGroup);
  if (layout_.has_list) list_ = open(cache::kList);
  if (layout_.has_position) position_ = open(cache::kPosition);
  if (layout_.has_timestamp) timestamp_ = open(cache::kTimestamp);
  if (!layout_.aux.empty()) aux_ = open(cache::kAux);
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
  labels_->write(row.labels.data(), row.labels.size());
  for (size_t f = 0; f < keys_.size(); ++f) {
    if (lengths_[f]) {
      const auto& k = row.keys[f];
      lengths_[f]->write_pod(static_cast<uint32_t>(k.size()));
      keys_[f]->write(k.data(), k.size() * sizeof(uint64_t));
      if (weights_[f]) weights_[f]->write(row.weights[f].data(), k.size() * sizeof(float));
    } else {
      keys_[f]->write_pod(row.single[f]);
    }
  }
  if (dense_) dense_->write(row.dense.data(), row.dense.size() * sizeof(float));
  if (group_) group_->write_pod(row.group);
  if (list_) list_->write_pod(row.list);
  if (position_) position_->write_pod(row.position);
  if (timestamp_) timestamp_->write_pod(row.timestamp);
  if (aux_) aux_->write(row.aux.data(), row.aux.size() * sizeof(float));
  ++rows_;
}

void SplitWriter::close() {
  for (auto* w : {&labels_, &dense_, &group_, &list_, &position_, &timestamp_, &aux_}) {
    if (*w) (*w)->close();
  }
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
  std::vector<SparseFieldStats> stats(layout_.sparse.size());
  constexpr size_t kChunk = 1 << 16;
  std::vector<uint64_t> keys(kChunk);
  std::vector<uint32_t> ids(kChunk);
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    const int fi = static_cast<int>(f);
    const Vocabulary& vocab = vocabs[f];
    SparseFieldStats& st = stats[f];
    const std::string keys_path = join_path(dir_, cache::field_file(fi, cache::kStagedKeys));
    {
      // Streamed with read(2), not mapped: staged keys of multi-valued fields run to GBs, and
      // mapped pages would count toward the conversion's resident memory.
      SequentialFile keys_file(keys_path);
      FileWriter out(join_path(dir_, cache::field_file(fi, cache::kIds)));
      for (;;) {
        const size_t m = keys_file.read(keys.data(), kChunk * sizeof(uint64_t)) / sizeof(uint64_t);
        if (m == 0) break;
        constexpr size_t kAhead = 16;
        for (size_t i = 0; i + kAhead < m; ++i) vocab.prefetch(keys[i + kAhead]);
        for (size_t i = 0; i < m; ++i) {
          const uint64_t key = keys[i];
          if (key == 0) {
            ids[i] = 0;
            ++st.missing_rows;  // single-valued only: multi-valued bags never stage key 0
          } else {
            ids[i] = vocab.id(key);
            ++st.values;
            st.oov += ids[i] == 0;
          }
        }
        out.write(ids.data(), m * sizeof(uint32_t));
      }
      out.close();
      if (!layout_.sparse[f].multi) {
        st.min_len = st.missing_rows > 0 ? 0 : (rows_ > 0 ? 1 : 0);
        st.max_len = st.values > 0 ? 1 : 0;
      }
    }
    remove_all(keys_path);
    if (layout_.sparse[f].multi) {
      const std::string len_path = join_path(dir_, cache::field_file(fi, cache::kStagedLengths));
      SequentialFile len_file(len_path);
      FileWriter out(join_path(dir_, cache::field_file(fi, cache::kOffsets)));
      st.length_histogram.assign(1025, 0);
      st.min_len = rows_ > 0 ? UINT64_MAX : 0;
      uint64_t offset = 0, n = 0;
      out.write_pod(offset);
      std::vector<uint32_t> lens(kChunk);
      for (;;) {
        const size_t m = len_file.read(lens.data(), kChunk * sizeof(uint32_t)) / sizeof(uint32_t);
        if (m == 0) break;
        for (size_t r = 0; r < m; ++r) {
          offset += lens[r];
          out.write_pod(offset);
          ++st.length_histogram[std::min<uint32_t>(lens[r], 1024)];
          st.min_len = std::min<uint64_t>(st.min_len, lens[r]);
          st.max_len = std::max<uint64_t>(st.max_len, lens[r]);
          st.missing_rows += lens[r] == 0;
        }
        n += m;
      }
      FUNNEL_CHECK(n == rows_, dir_ << ": staged lengths of field " << f << " hold " << n
                                    << " rows, expected " << rows_);
      out.close();
      remove_all(len_path);
    }
  }
  return stats;
}

}  // namespace funnel::data
