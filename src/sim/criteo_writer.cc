#include "sim/criteo_writer.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <system_error>

#include "core/error.h"
#include "core/rng.h"
#include "data/criteo_attribution.h"

namespace funnel::sim {

const char kCriteoFileName[] = "criteo_attribution_dataset.tsv";

namespace {

/// Appends numbers and tabs to a line buffer (one row is well under 512 bytes).
class Line {
 public:
  void i(int64_t v) { put(std::to_chars(buf_ + n_, end(), v)); }
  void u(uint64_t v) { put(std::to_chars(buf_ + n_, end(), v)); }
  void f(float v) { put(std::to_chars(buf_ + n_, end(), v)); }
  void c(char ch) {
    FUNNEL_CHECK(n_ < sizeof buf_, "criteo writer: a line longer than " << sizeof buf_ << " bytes");
    buf_[n_++] = ch;
  }
  const char* data() const { return buf_; }
  size_t size() const { return n_; }

 private:
  char* end() { return buf_ + sizeof buf_; }
  void put(std::to_chars_result r) {
    FUNNEL_CHECK(r.ec == std::errc(),
                 "criteo writer: a line longer than " << sizeof buf_ << " bytes");
    n_ = static_cast<size_t>(r.ptr - buf_);
  }
  char buf_[512];
  size_t n_ = 0;
};

}  // namespace

CriteoWriter::CriteoWriter(const Simulator& sim, const std::string& path, const Options& options)
    : sim_(sim), options_(options), out_(path) {
  const SimConfig& c = sim.config();
  FUNNEL_CHECK(c.funnel == FunnelKind::kLists,
               "the Criteo attribution output needs a lists simulation (--preset lists), not '"
                   << c.preset << "'");
  FUNNEL_CHECK(options.seconds_between_lists >= 0 && options.seconds_between_lists < 1e6,
               "CriteoWriter: seconds_between_lists must be in [0, 1e6), got "
                   << options.seconds_between_lists);
  const uint64_t L = static_cast<uint64_t>(c.list_length);
  std::string header;
  for (int col = 0; col < data::criteo::kNumColumns; ++col) {
    header += (col ? "\t" : "") + std::string(data::criteo::kColumns[col]);
  }
  out_.write(header + "\n");
  list_.reserve(L);
}

CriteoWriter::~CriteoWriter() = default;

void CriteoWriter::add(const SimRow* rows, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!list_.empty() && rows[i].list != list_.front().list) end_list();
    list_.push_back(rows[i]);
  }
}

void CriteoWriter::end_list() {
  if (list_.empty()) return;
  const uint64_t index = list_.front().list;
  // Later lists never start earlier, so everything before this start is final (time order).
  const int64_t start =
      static_cast<int64_t>(static_cast<double>(index) * options_.seconds_between_lists);
  if (!options_.grouped) {
    while (!pending_.empty() && pending_.top().timestamp < start) {
      emit(pending_.top());
      pending_.pop();
    }
  }
  const uint64_t uid = index + 1;
  const int64_t first = list_.front().timestamp;
  const uint64_t seed = sim_.config().seed;
  int64_t last_click = -1;
  size_t begin = 0;
  while (begin < list_.size()) {
    // One sequence: up to and including the next purchase, or the rest of the list.
    size_t end = begin;
    while (end < list_.size() && !list_[end].label_columns[1]) ++end;
    const bool converts = end < list_.size();
    if (converts) ++end;
    int32_t clicks = 0;
    for (size_t k = begin; k < end; ++k) clicks += list_[k].label_columns[0];
    const int64_t conversion_id = converts ? static_cast<int64_t>(conversions_++) : -1;
    sequence_.clear();
    float sequence_cost = 0;
    int32_t click_rank = 0;
    for (size_t k = begin; k < end; ++k) {
      const SimRow& s = list_[k];
      Record r{};
      r.timestamp = start + (s.timestamp - first);
      r.serial = serial_++;
      r.uid = uid;
      r.conversion = converts;
      r.conversion_id = conversion_id;
      r.attribution = converts;
      r.click = s.label_columns[0];
      r.click_pos = converts && r.click ? click_rank++ : -1;
      r.click_nb = converts ? clicks : -1;
      uint64_t h = seed * 0x9E3779B97F4A7C15ULL ^ r.serial;
      r.cost = 1e-4f + 9e-4f * static_cast<float>(splitmix64(h) >> 40) * 0x1.0p-24f;
      sequence_cost += r.cost;
      r.time_since_last_click = last_click >= 0 ? r.timestamp - last_click : -1;
      if (r.click) last_click = r.timestamp;
      const uint16_t* profile = sim_.profile(s.user);
      const uint64_t features[10] = {s.shop, s.item,     s.category, s.brand,    s.intention,
                                     s.user, profile[0], profile[1], profile[2], s.position};
      for (int f = 0; f < 10; ++f) r.features[f] = static_cast<uint32_t>(features[f]);
      sequence_.push_back(r);
    }
    const int64_t conversion_time = converts ? sequence_.back().timestamp + 1 : -1;
    for (Record& r : sequence_) {
      r.conversion_timestamp = conversion_time;
      r.cpo = converts ? sequence_cost : -1.0f;
      if (options_.grouped) {
        emit(r);
      } else {
        pending_.push(r);
      }
    }
    ++sequences_;
    begin = end;
  }
  list_.clear();
}

void CriteoWriter::emit(const Record& r) {
  Line l;
  l.i(r.timestamp);
  l.c('\t');
  l.u(r.uid);
  l.c('\t');
  l.u(r.features[0]);
  l.c('\t');
  l.c(static_cast<char>('0' + r.conversion));
  l.c('\t');
  l.i(r.conversion_timestamp);
  l.c('\t');
  l.i(r.conversion_id);
  l.c('\t');
  l.c(static_cast<char>('0' + r.attribution));
  l.c('\t');
  l.c(static_cast<char>('0' + r.click));
  l.c('\t');
  l.i(r.click_pos);
  l.c('\t');
  l.i(r.click_nb);
  l.c('\t');
  l.f(r.cost);
  l.c('\t');
  l.f(r.cpo);
  l.c('\t');
  l.i(r.time_since_last_click);
  for (int f = 1; f < 10; ++f) {
    l.c('\t');
    l.u(r.features[f]);
  }
  l.c('\n');
  out_.write(l.data(), l.size());
  ++rows_;
}

uint64_t CriteoWriter::finish() {
  if (finished_) return out_.bytes_written();
  end_list();
  while (!pending_.empty()) {
    emit(pending_.top());
    pending_.pop();
  }
  finished_ = true;
  const uint64_t bytes = out_.bytes_written();
  out_.close();
  return bytes;
}

}  // namespace funnel::sim
