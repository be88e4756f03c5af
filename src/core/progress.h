#pragma once
// Progress of long work on stderr: rate (rows/s, MB/s), percentage and ETA when the total is
// known. On a terminal one line is redrawn in place; otherwise a plain line every few seconds.

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
  };
  explicit Progress(Options options);
  ~Progress();

  /// Cheap to call per row: reads the clock only every 4096 calls.
  void update(uint64_t done, uint64_t rows) {
    done_ = done;
    rows_ = rows;
    if ((++calls_ & 4095) == 0) maybe_draw(false);
  }
  /// Final line with totals and elapsed time.
  void finish();
  double elapsed_seconds() const;

 private:
  void maybe_draw(bool final);
  std::string render(bool final) const;

  Options options_;
  bool tty_;
  bool finished_ = false;
  uint64_t done_ = 0;
  uint64_t rows_ = 0;
  uint64_t calls_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// "12.3 M", "456 k", "789".
std::string human_count(double n);
/// "1h02m", "3m05s", "12s".
std::string human_duration(double seconds);

}  // namespace funnel
