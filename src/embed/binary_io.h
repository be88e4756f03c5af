#pragma once
// Raw little-endian POD / array IO on std::streams for the table format. Every short read
// or failed write throws funnel::Error naming what was being read, so a truncated file is
// reported as such instead of yielding garbage weights.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>
#include <type_traits>

#include "core/error.h"

namespace funnel::embed::io {

inline void write_bytes(std::ostream& os, const void* data, size_t n, const char* what) {
  // Chunked so that multi-GB tables never hit a streamsize overflow in one call.
  const char* p = static_cast<const char*>(data);
  constexpr size_t kChunk = size_t{1} << 26;
  while (n > 0) {
    const size_t c = n < kChunk ? n : kChunk;
    errno = 0;
    os.write(p, static_cast<std::streamsize>(c));
    FUNNEL_CHECK(os.good(), "embedding table: failed to write "
                                << what
                                << (errno != 0 ? std::string(": ") + std::strerror(errno) : ""));
    p += c;
    n -= c;
  }
}

inline void read_bytes(std::istream& is, void* data, size_t n, const char* what) {
  char* p = static_cast<char*>(data);
  constexpr size_t kChunk = size_t{1} << 26;
  size_t done = 0;
  while (done < n) {
    const size_t c = n - done < kChunk ? n - done : kChunk;
    is.read(p + done, static_cast<std::streamsize>(c));
    const auto got = static_cast<size_t>(is.gcount());
    done += got;
    FUNNEL_CHECK(got == c, "embedding table: stream truncated while reading "
                               << what << " (got " << done << " of " << n << " bytes)");
  }
}

template <typename T>
void write_pod(std::ostream& os, const T& v, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  write_bytes(os, &v, sizeof(T), what);
}

template <typename T>
T read_pod(std::istream& is, const char* what) {
  static_assert(std::is_trivially_copyable_v<T>);
  T v;
  read_bytes(is, &v, sizeof(T), what);
  return v;
}

}  // namespace funnel::embed::io
