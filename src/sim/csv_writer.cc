#include "sim/csv_writer.h"

#include <charconv>
#include <cstring>

#include "core/error.h"

namespace funnel::sim {
namespace {

/// One row's text, written to `out` when the buffer nears full and at the end of the row.
class RowFormatter {
 public:
  explicit RowFormatter(FileWriter* out) : out_(out) {}
  void u(uint64_t v) {
    room();
    n_ = static_cast<size_t>(std::to_chars(buf_ + n_, buf_ + sizeof(buf_), v).ptr - buf_);
  }
  void f(float v) {
    room();
    n_ = static_cast<size_t>(std::to_chars(buf_ + n_, buf_ + sizeof(buf_), v).ptr - buf_);
  }
  void c(char ch) {
    room();
    buf_[n_++] = ch;
  }
  void flush() {
    out_->write(buf_, n_);
    n_ = 0;
  }

 private:
  /// Every piece is at most 32 bytes (a float or a 64-bit number).
  void room() {
    if (n_ + 32 > sizeof(buf_)) flush();
  }
  FileWriter* out_;
  char buf_[1024];
  size_t n_ = 0;
};

}  // namespace

const char* CsvWriter::file_name(int split) {
  static const char* const kNames[3] = {"train.csv", "validation.csv", "test.csv"};
  return kNames[split];
}

CsvWriter::CsvWriter(const Simulator& sim, const std::string& out_dir, const bool splits[3])
    : sim_(sim), fields_(sim_fields(sim.config())) {
  const bool lists = sim.config().funnel == FunnelKind::kLists;
  // Header: labels, the feature columns, the list columns, truth.
  std::string header;
  for (const SimEvent& ev : sim.events()) {
    for (const auto& col : ev.columns) {
      header += col + ",";
      ++num_label_columns_;
    }
  }
  for (size_t f = 0; f < fields_.size(); ++f) header += (f ? "," : "") + fields_[f].name;
  if (lists) header += ",session,time";
  for (const SimEvent& ev : sim.events()) header += "," + ev.truth_column;
  for (const SimEvent& ev : sim.events()) {
    if (!ev.inherent_column.empty()) header += "," + ev.inherent_column;
  }
  header += "\n";
  make_dirs(out_dir);
  for (int s = 0; s < 3; ++s) {
    if (!splits[s]) continue;
    out_[s] = std::make_unique<FileWriter>(join_path(out_dir, file_name(s)));
    out_[s]->write(header);
  }
}

CsvWriter::~CsvWriter() = default;

void CsvWriter::add(const SimRow* rows, size_t n) {
  const bool lists = sim_.config().funnel == FunnelKind::kLists;
  const size_t num_events = sim_.events().size();
  for (size_t i = 0; i < n; ++i) {
    const SimRow& row = rows[i];
    FUNNEL_CHECK(out_[row.split], "a simulated row belongs to a split without a file");
    RowFormatter fmt(out_[row.split].get());
    for (size_t l = 0; l < num_label_columns_; ++l) {
      fmt.c(static_cast<char>('0' + row.label_columns[l]));
      fmt.c(',');
    }
    for (size_t f = 0; f < fields_.size(); ++f) {
      if (f) fmt.c(',');
      if (fields_[f].source != FieldSource::kHistory) {
        fmt.u(field_value(fields_[f], row, sim_));
        continue;
      }
      // Multi-valued and weighted: cat:count|cat:count|...
      const uint32_t* cats = sim_.history_categories(row.user);
      const uint8_t* counts = sim_.history_counts(row.user);
      for (int h = 0; h < Simulator::kHistoryLength; ++h) {
        if (h) fmt.c('|');
        fmt.u(cats[h]);
        fmt.c(':');
        fmt.u(counts[h]);
      }
    }
    if (lists) {
      fmt.c(',');
      fmt.u(row.list);
      fmt.c(',');
      fmt.u(static_cast<uint64_t>(row.timestamp));
    }
    for (size_t ev = 0; ev < num_events; ++ev) {
      fmt.c(',');
      fmt.f(row.truth[ev]);
    }
    for (size_t ev = 0; ev < num_events; ++ev) {
      if (sim_.events()[ev].inherent_column.empty()) continue;
      fmt.c(',');
      fmt.f(row.inherent[ev]);
    }
    fmt.c('\n');
    fmt.flush();
  }
}

uint64_t CsvWriter::finish() {
  uint64_t bytes = 0;
  for (auto& w : out_) {
    if (!w) continue;
    bytes += w->bytes_written();
    w->close();
  }
  return bytes;
}

}  // namespace funnel::sim
