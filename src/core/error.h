#pragma once
// Errors: exceptions inside the library, translated to exit codes / HTTP codes at the edges.

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "core/utf8.h"

namespace funnel {

/// Any error a user can cause or fix (bad config, bad input, missing file). The message is
/// always valid UTF-8 (bytes of a value that are not are written as \xNN): it goes into JSON
/// (stats, logs, HTTP answers), whose writers would refuse it otherwise.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(utf8_safe(what)) {}
};

/// An error tied to a place in an input file. `line` and `column` are 1-based; 0 = unknown.
class DataError : public Error {
 public:
  DataError(std::string file, uint64_t line, std::string column, std::string kind,
            const std::string& message)
      : Error(format(file, line, column, message)),
        file_(std::move(file)),
        line_(line),
        column_(utf8_safe(std::move(column))),
        kind_(std::move(kind)),
        message_(utf8_safe(message)) {}

  const std::string& file() const { return file_; }
  uint64_t line() const { return line_; }
  const std::string& column() const { return column_; }
  /// Short machine-readable category, e.g. "column_count", "label_value" (counted in stats).
  const std::string& kind() const { return kind_; }
  /// What is wrong, without the location.
  const std::string& message() const { return message_; }

 private:
  static std::string format(const std::string& file, uint64_t line, const std::string& column,
                            const std::string& message) {
    std::ostringstream os;
    os << file;
    if (line > 0) os << ':' << line;
    if (!column.empty()) os << ": column '" << column << "'";
    os << ": " << message;
    return os.str();
  }

  std::string file_;
  uint64_t line_;
  std::string column_;
  std::string kind_;
  std::string message_;
};

namespace detail {
[[noreturn]] inline void throw_check(const char* cond, const std::string& msg) {
  throw Error(msg.empty() ? std::string("check failed: ") + cond : msg);
}
}  // namespace detail

}  // namespace funnel

/// FUNNEL_CHECK(cond, "message " << value): throws funnel::Error with the streamed message.
#define FUNNEL_CHECK(cond, msg)                                     \
  do {                                                              \
    if (!(cond)) {                                                  \
      std::ostringstream funnel_check_os_;                          \
      funnel_check_os_ << msg;                                      \
      ::funnel::detail::throw_check(#cond, funnel_check_os_.str()); \
    }                                                               \
  } while (0)
