#include "data/reader.h"

#include "core/error.h"
#include "core/utf8.h"
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
    {Format::kCriteoAttribution, &make_criteo_attribution_reader},
};
}  // namespace

std::pair<const std::string, UnreadField>& add_unread_field(
    std::map<std::string, UnreadField>& fields, std::string_view name, size_t max_names,
    const std::string& file, uint64_t line) {
  const std::string where = file + ":" + std::to_string(line);
  if (fields.size() >= max_names) {
    std::string seen;
    size_t shown = 0;
    for (const auto& [n, f] : fields) {
      if (shown++ == 5) {
        seen += ", ...";
        break;
      }
      seen += (shown > 1 ? ", '" : "'") + printable(n, 40) + "' (" + f.first_seen + ")";
    }
    throw Error(where + ": field '" + printable(name, 80) + "' is not in the schema, and " +
                std::to_string(fields.size()) + " other field names were not either (" + seen +
                "): above data.max_unread_fields = " + std::to_string(max_names) +
                ", so the field names look corrupted. Fields left out of the schema on purpose "
                "are counted and ignored; raise data.max_unread_fields if there are that many");
  }
  auto& f = *fields.emplace(std::string(name), UnreadField{}).first;
  f.second.first_seen = where;
  return f;
}

std::unique_ptr<Reader> open_reader(const DataConfig& config, const InputFile& file) {
  for (const auto& entry : kReaders) {
    if (entry.format == config.format.type) return entry.make(config, file);
  }
  throw Error("no reader for the configured format");
}

}  // namespace funnel::data
