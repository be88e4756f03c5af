#pragma once
// Minimal leveled logging to stderr. Library code logs; only the CLI decides the level.

#include <string>

namespace funnel {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kQuiet = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_debug(const std::string& msg);
void log_info(const std::string& msg);
void log_warning(const std::string& msg);
void log_error(const std::string& msg);

}  // namespace funnel
