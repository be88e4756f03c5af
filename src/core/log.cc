#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace funnel {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mutex;

void emit(LogLevel level, const char* tag, const std::string& msg) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s%s\n", tag, msg.c_str());
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel log_level() { return static_cast<LogLevel>(g_level.load()); }
void log_debug(const std::string& msg) { emit(LogLevel::kDebug, "[debug] ", msg); }
void log_info(const std::string& msg) { emit(LogLevel::kInfo, "", msg); }
void log_warning(const std::string& msg) { emit(LogLevel::kWarning, "warning: ", msg); }
void log_error(const std::string& msg) { emit(LogLevel::kError, "error: ", msg); }

}  // namespace funnel
