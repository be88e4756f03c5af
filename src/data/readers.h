#pragma once
// Factories of the concrete readers (internal to the data module; use open_reader()).

#include <memory>

#include "data/reader.h"

namespace funnel::data {

std::unique_ptr<Reader> make_delimited_reader(const DataConfig& config, const InputFile& file);
std::unique_ptr<Reader> make_token_reader(const DataConfig& config, const InputFile& file);
std::unique_ptr<Reader> make_aliccp_raw_reader(const DataConfig& config, const InputFile& file);
std::unique_ptr<Reader> make_criteo_attribution_reader(const DataConfig& config,
                                                       const InputFile& file);

}  // namespace funnel::data
