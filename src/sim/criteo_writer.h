#pragma once
// A `lists` simulation as the Criteo attribution file (criteo_attribution_dataset.tsv, the
// columns of data/criteo_attribution.h), so that the criteo_attribution reader, its list
// formation and its labels can be exercised end to end on data whose truth is known.
//
// Mapping (docs/simulator.md has the reasons):
//   - each simulated list has its own uid (1 + its list number); the list is cut into Criteo
//     sequences at its purchases: the items up to and including a purchase are one converting
//     sequence (a fresh conversion_id, conversion 1 on all of them, the purchase as the last
//     click); the items after the last purchase are the user's non-converting sequence
//     (conversion_id -1). So the last_click label of the file is the simulation's purchase.
//   - timestamps: list i starts at second i * seconds_between_lists, its items keep the
//     simulator's gaps (2-31 s), so about 170 lists overlap at any time; the time-ordered file
//     interleaves them.
//   - campaign = shop; cat1..cat9 = item, category, brand, intention, user, profile fields
//     121, 122, 124, position.
//   - attribution = 1 for every conversion (each follows a click on the purchased item);
//     conversion_timestamp = the purchase's time + 1 s; click_pos = rank of a click among the
//     sequence's clicks (-1 on other rows), click_nb = the sequence's clicks (-1 without a
//     conversion); cost in [1e-4, 1e-3) by a hash of the row; cpo = the sequence's cost when
//     it converted, else -1; time_since_last_click = seconds since the uid's last click, -1.

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "core/file.h"
#include "sim/simulator.h"

namespace funnel::sim {

class CriteoWriter {
 public:
  struct Options {
    /// Each sequence's rows together, in time order (sequences in the order they end), rather
    /// than the whole file in time order: input the converter keeps as lists without sorting.
    bool grouped = false;
    /// Seconds from one list's start to the next one's (lists last ~170 s).
    double seconds_between_lists = 1.0;
  };

  /// Writes `path` (the header at once). The simulation must be a `lists` one.
  CriteoWriter(const Simulator& sim, const std::string& path, const Options& options);
  ~CriteoWriter();

  /// Rows in the simulator's order (a list's rows may straddle calls).
  void add(const SimRow* rows, size_t n);
  /// Writes what is pending and closes the file; returns the bytes written.
  uint64_t finish();

  uint64_t rows() const { return rows_; }
  uint64_t sequences() const { return sequences_; }
  uint64_t conversions() const { return conversions_; }

  /// One output row, as numbers.
  struct Record {
    int64_t timestamp;
    uint64_t serial;  // order of creation: ties in time keep it
    uint64_t uid;
    int64_t conversion_timestamp, conversion_id, time_since_last_click;
    int32_t click_pos, click_nb;
    float cost, cpo;
    uint32_t features[10];  // campaign, cat1..cat9
    uint8_t conversion, attribution, click;
  };

 private:
  void end_list();
  void emit(const Record& r);

  const Simulator& sim_;
  Options options_;
  FileWriter out_;
  std::vector<SimRow> list_;  // the rows of the list being read
  std::vector<Record> sequence_;
  struct Later {
    bool operator()(const Record& a, const Record& b) const {
      return a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.serial > b.serial;
    }
  };
  std::priority_queue<Record, std::vector<Record>, Later> pending_;  // time order only
  uint64_t serial_ = 0;
  uint64_t rows_ = 0, sequences_ = 0, conversions_ = 0;
  bool finished_ = false;
};

/// The file name the simulator writes: criteo_attribution_dataset.tsv.
extern const char kCriteoFileName[];

}  // namespace funnel::sim
