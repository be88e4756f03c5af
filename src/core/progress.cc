#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "core/log.h"

namespace funnel {

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) {
    std::snprintf(buf, sizeof buf, "%.2f G", n / 1e9);
  } else if (n >= 1e6) {
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  } else if (n >= 1e4) {
    std::snprintf(buf, sizeof buf, "%.1f k", n / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f", n);
  }
  return buf;
}

std::string human_duration(double s) {
  char buf[32];
  const auto t = static_cast<long long>(s + 0.5);
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  } else if (t >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  }
  return buf;
}

Progress::Progress(Options options)
    : options_(std::move(options)),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_),
      last_tick_(start_) {
  if (log_level() > LogLevel::kInfo) options_.quiet = true;
}

Progress::~Progress() {
  if (finished_ || !tty_ || options_.quiet || !drawn_) return;
  if (options_.final_line) {
    std::fputc('\n', stderr);
  } else {
    std::fputs("\r\033[K", stderr);
  }
}

void Progress::tick() {
  calls_ = 0;
  const auto now = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  if (dt < 0.005 && stride_ < 4096) {
    stride_ *= 2;
  } else if (dt > 0.05 && stride_ > 1) {
    stride_ /= 2;
  }
  maybe_draw(false);
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::render(bool final) const {
  const double secs = elapsed_seconds();
  const double rate_rows = secs > 0 ? rows_ / secs : 0.0;
  std::string s = options_.label + ": " + human_count(static_cast<double>(rows_)) + " rows, " +
                  human_count(rate_rows) + " rows/s";
  char buf[96];
  if (options_.total_is_bytes) {
    std::snprintf(buf, sizeof buf, ", %.1f MB/s", secs > 0 ? done_ / secs / 1e6 : 0.0);
    s += buf;
  }
  if (final) {
    s += ", " + human_duration(secs);
  } else if (options_.total > 0 && done_ > 0) {
    const double frac = static_cast<double>(done_) / static_cast<double>(options_.total);
    std::snprintf(buf, sizeof buf, ", %5.1f%%", 100.0 * frac);
    s += buf;
    s += ", ETA " + human_duration(secs * (1.0 - frac) / frac);
  }
  return s;
}

void Progress::maybe_draw(bool final) {
  if (options_.quiet) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!final && since < (tty_ ? 0.2 : options_.plain_interval_s)) return;
  last_draw_ = now;
  if (final && !options_.final_line) {
    if (tty_ && drawn_) std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    return;
  }
  drawn_ = true;
  const std::string line = render(final);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  maybe_draw(true);
  finished_ = true;
}

}  // namespace funnel
