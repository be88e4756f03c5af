#include "data/list_sorter.h"

#include <algorithm>
#include <cstring>
#include <queue>

#include "core/error.h"
#include "core/file.h"
#include "core/progress.h"

namespace funnel::data {
namespace {

// On disk a record is: u32 payload length, the key (rank u64, timestamp i64, ordinal u64,
// position i32), the payload.
constexpr size_t kRunKeyBytes = 8 + 8 + 8 + 4;
constexpr size_t kRunHeaderBytes = 4 + kRunKeyBytes;

template <typename T>
char* run_put(char* p, const T& v) {
  std::memcpy(p, &v, sizeof(T));
  return p + sizeof(T);
}
template <typename T>
const char* run_get(const char* p, T& v) {
  std::memcpy(&v, p, sizeof(T));
  return p + sizeof(T);
}

}  // namespace

/// Reads the records of one run file front to back through a buffer.
class ListSorter::RunReader {
 public:
  RunReader(const std::string& path, size_t buffer_bytes) : file_(path), buf_(buffer_bytes) {}

  /// Loads the next record into key()/payload()/length(); false at the end of the run.
  bool next() {
    pos_ += record_bytes_;
    record_bytes_ = 0;
    if (!ensure(kRunHeaderBytes)) {
      FUNNEL_CHECK(end_ == pos_, file_.path() << ": truncated sort run");
      return false;
    }
    const char* p = buf_.data() + pos_;
    p = run_get(p, length_);
    p = run_get(p, key_.rank);
    p = run_get(p, key_.timestamp);
    p = run_get(p, key_.ordinal);
    run_get(p, key_.position);
    record_bytes_ = kRunHeaderBytes + length_;
    FUNNEL_CHECK(ensure(record_bytes_), file_.path() << ": truncated sort run");
    return true;
  }
  const Key& key() const { return key_; }
  const char* payload() const { return buf_.data() + pos_ + kRunHeaderBytes; }
  uint32_t length() const { return length_; }

 private:
  /// At least `n` bytes from pos_ in the buffer (false: the file ended first).
  bool ensure(size_t n) {
    if (end_ - pos_ >= n) return true;
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
    if (buf_.size() < n) buf_.resize(n);  // a record larger than the buffer
    while (end_ < n) {
      const size_t got = file_.read(buf_.data() + end_, buf_.size() - end_);
      if (got == 0) break;
      end_ += got;
    }
    return end_ >= n;
  }

  SequentialFile file_;
  std::vector<char> buf_;
  size_t pos_ = 0, end_ = 0, record_bytes_ = 0;
  Key key_{};
  uint32_t length_ = 0;
};

ListSorter::ListSorter(std::string temp_dir, const Layout& layout, ListSorterOptions options,
                       Emit emit)
    : temp_dir_(std::move(temp_dir)),
      layout_(layout),
      options_(std::move(options)),
      emit_(std::move(emit)),
      lists_(1024) {
  FUNNEL_CHECK(layout_.has_list, "ListSorter: the layout has no list column");
  FUNNEL_CHECK(options_.max_fan_in >= 2, "ListSorter: max_fan_in must be >= 2");
  const size_t F = layout_.sparse.size();
  row_.labels.assign(layout_.num_events(), 0);
  row_.single.assign(F, 0);
  row_.keys.resize(F);
  row_.weights.resize(F);
  row_.dense.assign(layout_.dense.size(), 0);
  row_.aux.assign(layout_.aux.size(), 0);
}

ListSorter::~ListSorter() {
  for (const auto& r : runs_) {
    try {
      remove_all(r);
    } catch (...) {
      // Best effort: the cache build folder goes with a failed conversion anyway.
    }
  }
}

size_t ListSorter::payload_bytes(const EncodedRow& row) const {
  size_t n = 8 + 8 + 4 + layout_.num_events() + 4 * layout_.dense.size() + 4 * layout_.aux.size();
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    if (!layout_.sparse[f].multi) {
      n += 8;
    } else {
      n += 4 + row.keys[f].size() * (8 + (layout_.sparse[f].weighted ? 4 : 0));
    }
  }
  return n;
}

void ListSorter::encode(const EncodedRow& row, char* p) const {
  p = run_put(p, row.list);
  p = run_put(p, row.group);
  p = run_put(p, static_cast<int32_t>(row.violation));
  std::memcpy(p, row.labels.data(), layout_.num_events());
  p += layout_.num_events();
  if (!row.dense.empty()) std::memcpy(p, row.dense.data(), 4 * row.dense.size());
  p += 4 * layout_.dense.size();
  if (!row.aux.empty()) std::memcpy(p, row.aux.data(), 4 * row.aux.size());
  p += 4 * layout_.aux.size();
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    if (!layout_.sparse[f].multi) {
      p = run_put(p, row.single[f]);
      continue;
    }
    const auto& k = row.keys[f];
    p = run_put(p, static_cast<uint32_t>(k.size()));
    if (k.empty()) continue;
    std::memcpy(p, k.data(), 8 * k.size());
    p += 8 * k.size();
    if (layout_.sparse[f].weighted) {
      std::memcpy(p, row.weights[f].data(), 4 * k.size());
      p += 4 * k.size();
    }
  }
}

void ListSorter::decode(const char* p, uint32_t length, EncodedRow& out) const {
  const char* const end = p + length;
  p = run_get(p, out.list);
  p = run_get(p, out.group);
  int32_t violation = 0;
  p = run_get(p, violation);
  out.violation = violation;
  std::memcpy(out.labels.data(), p, layout_.num_events());
  p += layout_.num_events();
  if (!out.dense.empty()) std::memcpy(out.dense.data(), p, 4 * out.dense.size());
  p += 4 * layout_.dense.size();
  if (!out.aux.empty()) std::memcpy(out.aux.data(), p, 4 * out.aux.size());
  p += 4 * layout_.aux.size();
  for (size_t f = 0; f < layout_.sparse.size(); ++f) {
    if (!layout_.sparse[f].multi) {
      p = run_get(p, out.single[f]);
      continue;
    }
    uint32_t n = 0;
    p = run_get(p, n);
    out.keys[f].resize(n);
    if (n == 0) {
      out.weights[f].clear();
      continue;
    }
    std::memcpy(out.keys[f].data(), p, 8 * size_t{n});
    p += 8 * size_t{n};
    if (layout_.sparse[f].weighted) {
      out.weights[f].resize(n);
      std::memcpy(out.weights[f].data(), p, 4 * size_t{n});
      p += 4 * size_t{n};
    }
  }
  FUNNEL_CHECK(p == end, "sort run: a record of " << length << " bytes decoded to "
                                                  << (p - (end - length)) << " bytes");
}

size_t ListSorter::run_limit() const {
  const size_t budget = options_.memory_bytes;
  const size_t table = lists_.memory_bytes();
  return std::max(budget / 4, table < budget ? budget - table : size_t{0});
}

bool ListSorter::fits(size_t length) const {
  // By size: reserved but untouched capacity costs no resident memory.
  return records_.size() + length + (entries_.size() + 1) * sizeof(Entry) <= run_limit();
}

void ListSorter::add(const EncodedRow& row) {
  const uint64_t ordinal = ordinal_++;
  ListInfo& info = lists_[row.list];
  if (info.rows++ == 0) info.first = ordinal;
  const Key key{info.first, row.timestamp, ordinal, row.position};
  // A row of a list handed on already: it would have had to come before rows written.
  if (streamed_ && key.rank <= streamed_rank_) throw ListOrderRestart(ordinal);
  if (in_order_ && ordinal > 0 && less(key, last_)) in_order_ = false;
  last_ = key;

  const size_t length = payload_bytes(row);
  if (!entries_.empty() && !fits(length)) make_room();
  if (entries_.capacity() == 0) {
    // Reserved once, at the run's size: pages are resident only once written, and the run
    // never grows by copying (which would hold the old and the new buffer at once).
    records_.reserve(run_limit());
    entries_.reserve(run_limit() / sizeof(Entry));
  }
  if (records_.size() + length > records_.capacity()) {
    records_.reserve(std::max(records_.size() + length, 2 * records_.capacity()));
  }
  if (entries_.size() == entries_.capacity()) {
    entries_.reserve(std::max<size_t>(8, 2 * entries_.capacity()));
  }
  const size_t offset = records_.size();
  records_.resize(offset + length);
  encode(row, records_.data() + offset);
  if (entries_.empty() || entries_.back().key.rank != key.rank) last_list_start_ = entries_.size();
  entries_.push_back({key, static_cast<uint32_t>(length), offset});
}

void ListSorter::make_room() {
  if (options_.stream && in_order_ && runs_.empty()) {
    // In list order so far: every list but the last (which may go on) is complete.
    const size_t cut = last_list_start_;
    if (cut > 0) {
      for (size_t i = 0; i < cut; ++i) {
        deliver(entries_[i].key, records_.data() + entries_[i].offset, entries_[i].length);
      }
      stats_.rows_streamed += cut;
      streamed_ = true;
      streamed_rank_ = entries_[cut - 1].key.rank;
      const size_t from = entries_[cut].offset;
      records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(from));
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(cut));
      for (Entry& e : entries_) e.offset -= from;
      last_list_start_ = 0;
      return;
    }
    // One list fills the run: spilled (runs in order are only concatenated).
  }
  spill();
}

std::string ListSorter::run_path(uint64_t n) const {
  return join_path(temp_dir_, "sort_run_" + std::to_string(n) + ".tmp");
}

void ListSorter::spill() {
  if (!in_order_) {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return less(a.key, b.key); });
  }
  const std::string path = run_path(next_run_++);
  runs_.push_back(path);
  {
    FileWriter out(path, size_t{1} << 20);
    for (const Entry& e : entries_) {
      out.write_pod(e.length);
      out.write_pod(e.key.rank);
      out.write_pod(e.key.timestamp);
      out.write_pod(e.key.ordinal);
      out.write_pod(e.key.position);
      out.write(records_.data() + e.offset, e.length);
    }
    out.close();
  }
  ++stats_.runs;
  records_.clear();
  entries_.clear();
}

void ListSorter::merge(const std::vector<std::string>& runs,
                       const std::function<void(const Key&, const char*, uint32_t)>& out) {
  // Each run reads through a share of the memory the runs used (at least 64 KiB).
  const size_t buffer = std::clamp<size_t>(options_.memory_bytes / (runs.size() + 1),
                                           size_t{64} << 10, size_t{4} << 20);
  std::vector<std::unique_ptr<RunReader>> readers;
  for (const auto& r : runs) readers.push_back(std::make_unique<RunReader>(r, buffer));
  auto later = [&](size_t a, size_t b) { return less(readers[b]->key(), readers[a]->key()); };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < readers.size(); ++i) {
    if (readers[i]->next()) heap.push(i);
  }
  while (!heap.empty()) {
    const size_t i = heap.top();
    heap.pop();
    out(readers[i]->key(), readers[i]->payload(), readers[i]->length());
    if (readers[i]->next()) heap.push(i);
  }
  readers.clear();
  for (const auto& r : runs) {
    remove_all(r);
    runs_.erase(std::find(runs_.begin(), runs_.end(), r));
  }
}

void ListSorter::deliver(const Key& key, const char* payload, uint32_t length) {
  if (key.rank != current_rank_) {
    current_rank_ = key.rank;
    index_in_list_ = 0;
    ++stats_.lists;
    uint64_t list = 0;
    run_get(payload, list);
    const ListInfo* info = lists_.find(list);
    FUNNEL_CHECK(info != nullptr && info->first == key.rank, "sort: list table out of step");
    current_rows_ = info->rows;
    const uint64_t max = options_.max_list_length;
    if (max > 0 && current_rows_ > max) {
      ++stats_.lists_truncated;
      stats_.rows_dropped += current_rows_ - max;
    }
  }
  const uint64_t i = index_in_list_++;
  const uint64_t max = options_.max_list_length;
  if (max > 0 && current_rows_ > max) {
    const bool kept = options_.keep == ListKeep::kFirst ? i < max : i >= current_rows_ - max;
    if (!kept) return;
  }
  decode(payload, length, row_);
  row_.position = key.position;
  row_.timestamp = key.timestamp;
  ++stats_.rows_out;
  emit_(row_);
}

ListSortStats ListSorter::finish() {
  stats_.rows_in = ordinal_;
  stats_.reordered = !in_order_;
  auto deliver_to = [&](const Key& k, const char* p, uint32_t n) { deliver(k, p, n); };
  if (runs_.empty()) {
    // Everything fitted in memory: sort the entries (unless already in order) and deliver.
    if (!in_order_) {
      std::sort(entries_.begin(), entries_.end(),
                [](const Entry& a, const Entry& b) { return less(a.key, b.key); });
    }
    for (const Entry& e : entries_) deliver_to(e.key, records_.data() + e.offset, e.length);
  } else {
    if (!entries_.empty()) spill();
    std::vector<char>().swap(records_);
    std::vector<Entry>().swap(entries_);
    // Merge passes until one merge can take every run.
    while (runs_.size() > options_.max_fan_in) {
      const std::vector<std::string> group(runs_.begin(), runs_.begin() + options_.max_fan_in);
      const std::string path = run_path(next_run_++);
      FileWriter out(path, size_t{1} << 20);
      merge(group, [&](const Key& k, const char* p, uint32_t n) {
        out.write_pod(n);
        out.write_pod(k.rank);
        out.write_pod(k.timestamp);
        out.write_pod(k.ordinal);
        out.write_pod(k.position);
        out.write(p, n);
      });
      out.close();
      runs_.push_back(path);
    }
    Progress::Options po;
    po.label = options_.label;
    po.total = stats_.rows_in;
    po.total_is_bytes = false;
    po.quiet = !options_.progress;
    Progress progress(po);
    uint64_t done = 0;
    merge(std::vector<std::string>(runs_), [&](const Key& k, const char* p, uint32_t n) {
      deliver_to(k, p, n);
      ++done;
      progress.update(done, done);
    });
    progress.finish();
  }
  std::vector<char>().swap(records_);
  std::vector<Entry>().swap(entries_);
  return stats_;
}

}  // namespace funnel::data
