#pragma once
// `funnel data convert`: text -> binary cache + vocabularies, in one streaming pass over the
// text. Training rows are staged as 64-bit value keys while their counts build the
// vocabulary; a second pass over the staged binary (not the text) maps keys to ids.

#include <string>

#include "data/schema.h"
#include "data/stats.h"

namespace funnel::data {

struct ConvertOptions {
  /// Show progress on stderr.
  bool progress = true;
  /// Replace an existing cache at the destination (only a folder holding a Funnel cache).
  bool overwrite = true;
  /// Bad-row messages kept in the stats and logged as warnings (policy skip).
  size_t max_bad_examples = 5;
};

/// Converts the data of `config` into a cache at `out_dir` (written to a temporary folder and
/// renamed at the end, so a failed run leaves no half cache). Throws funnel::DataError on the
/// first bad row with policy fail, funnel::Error when too many rows are bad with policy skip
/// or when `config` names no training files.
DatasetStats convert_to_cache(const DataConfig& config, const std::string& out_dir,
                              const ConvertOptions& options = {});

}  // namespace funnel::data
