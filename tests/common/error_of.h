#pragma once
// The message of the funnel::Error that `f` throws, "" when it throws none (so that a
// find() on the message of a call that should have failed fails the test).

#include <functional>
#include <string>

#include "core/error.h"

namespace funnel::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace funnel::testing
