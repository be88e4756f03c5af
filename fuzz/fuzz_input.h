#pragma once
// Shared by the fuzz targets (fuzz/README in docs/reliability.md): the input bytes as a file,
// since Funnel's readers read files, and the one rule every target checks: bad input may end
// in funnel::Error (a clean message), never in another exception, a crash or a hang.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "core/error.h"
#include "data/reader.h"
#include "data/row_encoder.h"
#include "data/schema.h"

namespace funnel::fuzz {

/// An error a target caught (the expected outcome of bad input): printed when
/// FUNNEL_FUZZ_VERBOSE is set, to see what a seed or a regression input reaches.
inline void caught(const std::exception& e) {
  static const bool verbose = std::getenv("FUNNEL_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "caught: %s\n", e.what());
}

/// A file holding `data`, removed when this goes away (one per process: /dev/shm when there).
class InputFile {
 public:
  InputFile(const uint8_t* data, size_t size, const char* suffix) {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    path_ = std::string(dir) + "/funnel-fuzz-" + std::to_string(getpid()) + suffix;
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~InputFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Reads every row of `file` and encodes it, as the converter does with --on-bad-row skip:
/// a bad row (DataError) is passed over, a bad file ends in funnel::Error; at most 100,000
/// rows.
inline void read_and_encode(const data::DataConfig& config, const data::InputFile& file) {
  try {
    auto reader = data::open_reader(config, file);
    const data::RowEncoder encoder(config);
    data::RawRow raw;
    data::EncodedRow enc;
    for (int rows = 0; rows < 100000; ++rows) {
      try {
        if (!reader->next(raw)) break;
        encoder.encode(raw, reader->path(), enc);
      } catch (const DataError& e) {
        caught(e);
      }
    }
  } catch (const Error& e) {
    caught(e);
  }
}

inline void read_and_encode(const data::DataConfig& config, const std::string& path) {
  read_and_encode(config, data::InputFile{path});
}

}  // namespace funnel::fuzz
