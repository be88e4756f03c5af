#pragma once
// Progress of long work on stderr: rate (rows/s, MB/s), percentage and ETA when the total is
// known. Redrawn by time, whatever the rate of update() calls (once per row or once per
// batch): on a terminal one line in place every 0.2 s; otherwise a plain line every 10 s.

#include <chrono>
#include <cstdint>
#include <string>

namespace funnel {

class Progress {
 public:
  struct Options {
    /// Name shown at the start of the line, e.g. "convert train".
    std::string label;
    /// Total amount of work in `unit`s (bytes or rows); 0 = unknown (no ETA).
    uint64_t total = 0;
    /// True when `total` and `update(done, ...)` count bytes (shows MB/s), else rows.
    bool total_is_bytes = true;
    /// Seconds between plain lines when stderr is not a terminal.
    double plain_interval_s = 10.0;
    /// Force quiet (tests, --quiet).
    bool quiet = false;
    /// Write a last line with the totals at finish(); without, the line is cleared (a pass
    /// that runs many times, such as the validation during training).
    bool final_line = true;
  };
  explicit Progress(Options options);
  ~Progress();

  /// Cheap to call per row: reads the clock every `stride_` calls, a stride that adapts so
  /// that the clock is read about every 5-50 ms (1 for a call per batch, up to 4096 for a
  /// call per row).
  void update(uint64_t done, uint64_t rows) {
    done_ = done;
    rows_ = rows;
    if (++calls_ >= stride_) tick();
  }
  /// Final line with totals and elapsed time.
  void finish();
  double elapsed_seconds() const;

 private:
  void tick();
  void maybe_draw(bool final);
  std::string render(bool final) const;

  Options options_;
  bool tty_;
  bool finished_ = false;
  uint64_t done_ = 0;
  uint64_t rows_ = 0;
  uint64_t calls_ = 0;
  uint64_t stride_ = 1;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_tick_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "12.3 M", "456 k", "789".
std::string human_count(double n);
/// "1h02m", "3m05s", "12s".
std::string human_duration(double seconds);

}  // namespace funnel
