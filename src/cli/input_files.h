#pragma once
// A clear error for the input files a config names but that do not exist, above all the CSV
// files of a `funnel simulate` run made without --csv (its experiment.json names them, and the
// cache beside it holds the same data).

#include <string>
#include <vector>

#include "data/schema.h"

namespace funnel::cli {

/// Throws a one-line funnel::Error naming the first missing file of `files` (the inputs of
/// `split`, e.g. "data.train", of a config in `config_dir`). When the folder holds a
/// simulation's outputs (simulation.json and cache/), the message names that cache and adds
/// `way_out` (e.g. "pass --cache DIR/cache").
void require_input_files(const std::vector<data::InputFile>& files, const std::string& split,
                         const std::string& config_dir, const std::string& way_out);

/// require_input_files() for the train, validation and test inputs of `config`.
void require_input_files(const data::DataConfig& config, const std::string& config_dir,
                         const std::string& way_out);

}  // namespace funnel::cli
