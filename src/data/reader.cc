#include "data/reader.h"

#include "core/error.h"
#include "data/readers.h"

namespace funnel::data {

namespace {
using ReaderFactory = std::unique_ptr<Reader> (*)(const DataConfig&, const InputFile&);

struct ReaderEntry {
  Format format;
  ReaderFactory make;
};

// The registry of readers: one line per format.
constexpr ReaderEntry kReaders[] = {
    {Format::kDelimited, &make_delimited_reader},
    {Format::kTokens, &make_token_reader},
    {Format::kAliccpRaw, &make_aliccp_raw_reader},
};
}  // namespace

std::unique_ptr<Reader> open_reader(const DataConfig& config, const InputFile& file) {
  for (const auto& entry : kReaders) {
    if (entry.format == config.format.type) return entry.make(config, file);
  }
  throw Error("no reader for the configured format");
}

}  // namespace funnel::data
