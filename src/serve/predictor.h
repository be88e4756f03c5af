#pragma once
// Scores rows with a loaded bundle: raw text rows (the training schema and format, labels
// optional) -> entire-space probabilities of every funnel event. One Predictor per thread
// shares nothing mutable with others but the bundle it reads.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/batch.h"
#include "data/schema.h"
#include "model/bundle.h"
#include "model/evaluator.h"

namespace funnel::serve {

using model::BatchScores;

/// Scores batches with a bundle's model through the one Evaluator (model/evaluator.h).
class Predictor {
 public:
  explicit Predictor(const model::LoadedBundle& bundle);
  BatchScores score(const data::Batch& batch) const { return evaluator_.score(batch); }
  const model::LoadedBundle& bundle() const { return bundle_; }

 private:
  const model::LoadedBundle& bundle_;
  model::Evaluator evaluator_;
};

struct TextScoringOptions {
  size_t batch_size = 4096;
  /// The input must carry the label columns (evaluation) or may lack them (prediction).
  bool with_labels = false;
  /// Extra input column copied to the callback per row (e.g. a sample id); "" = none.
  std::string id_column;
  /// Read the schema's auxiliary columns (e.g. the simulator's true probabilities) into
  /// Batch::aux; they must then be in the input. Off: aux columns are not read.
  bool with_aux = false;
  /// When given: filled with one count per sparse field of the values that mapped to the
  /// out-of-vocabulary id 0 (unseen in training), as the server counts them.
  std::vector<uint64_t>* unknown_values = nullptr;
};

/// {field: count} of the sparse fields with values unseen in training (`unknown`: one count
/// per field of `layout`, as TextScoringOptions::unknown_values and EncodedRequest::oov hold
/// them); {} when none. What /v1/score answers, eval --json writes and predict logs.
nlohmann::json unknown_values_json(const data::Layout& layout,
                                   const std::vector<uint64_t>& unknown);

/// Reads `files` with the bundle's schema and format (bad rows by `config.on_bad_row`),
/// scores them in batches and calls `sink(batch, scores, ids)` in input order.
/// Returns the number of bad rows skipped. For a model over whole lists (reads_lists()) a
/// batch holds whole lists (a list longer than the batch size is a batch of its own): the
/// input must be grouped by list and ordered by position inside each list, and a list that
/// comes back after another, or a position that decreases, is an error naming the file and
/// lines. A model with observed feedback needs the label columns in `config`.
using ScoreSink = std::function<void(const data::Batch&, const BatchScores&,
                                     const std::vector<std::string>& ids)>;
uint64_t score_text(const model::LoadedBundle& bundle, const data::DataConfig& config,
                    const std::vector<data::InputFile>& files, const TextScoringOptions& options,
                    const ScoreSink& sink);

/// The data config of a bundle (its schema and format, no files) for reading input; without
/// labels, only the feature columns are required, and the list, position and time stamp
/// columns too with `lists` (a model over whole lists).
data::DataConfig bundle_data_config(const model::BundleMeta& bundle, bool with_labels,
                                    bool lists = false);

}  // namespace funnel::serve
