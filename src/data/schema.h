#pragma once
// Feature schema: which input columns are funnel labels, categorical features, numeric
// features and bookkeeping columns (group, list, position, timestamp, auxiliary floats).
// Parsed from the "data" section of an experiment config (see docs/data.md).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "data/criteo_attribution.h"

namespace funnel::data {

/// One funnel event (click, arrival, conversion, ...), in funnel order.
struct LabelSpec {
  std::string event;
  /// Input columns; the event is 1 when any of them is 1 (ESM2 §3.1: action = cart OR wish).
  std::vector<std::string> columns;
  /// Index of the event that must be 1 whenever this one is (the previous event by default;
  /// -1 for the first). ESM2's purchase names "click": it may happen without the action.
  int parent = -1;
};

struct CategoricalSpec {
  /// Feature name (used in the cache, vocabularies and models).
  std::string name;
  /// Input column or token-field name (defaults to `name`).
  std::string column;
  /// Several values per row: split on FormatSpec::multi_separator in delimited files;
  /// repeated field tokens in token and raw Ali-CCP files.
  bool multi = false;
  /// Values carry weights (`id:weight` in delimited files; the value in raw Ali-CCP).
  bool weighted = false;
  /// Embedding dimension for this field; 0 = the model's default.
  int dim = 0;
  /// Per-field vocabulary overrides (-1 = use the global setting).
  int64_t min_count = -1;
  int64_t hash_buckets = -1;
};

enum class NumericTransform {
  /// tanh((x - mean) / std) with mean/std from the training split (ESM2 eq. 17).
  kNormalize,
  /// Bucket id from sorted `boundaries` (x < b[0] -> 1, ..., x >= b.back() -> n+1; missing 0);
  /// the result is a categorical feature.
  kBucketize,
};

struct NumericSpec {
  std::string name;
  std::string column;
  NumericTransform transform = NumericTransform::kNormalize;
  std::vector<double> boundaries;
  int dim = 0;  // bucketised fields only: embedding dimension
};

enum class Format { kDelimited, kTokens, kAliccpRaw, kCriteoAttribution };

struct FormatSpec {
  Format type = Format::kDelimited;
  /// Delimited files: field separator (',' or '\t'), quoting, header handling.
  char delimiter = ',';
  char quote = '"';
  /// False: the file has no header line and `columns` names its columns.
  bool header = true;
  std::vector<std::string> columns;
  /// Separators inside one multi-valued cell: "12:0.5|40:1.0".
  char multi_separator = '|';
  char weight_separator = ':';
  /// Token files (PaddleRec): names of the plain columns before the `field:id` tokens.
  std::vector<std::string> leading_columns = {"sample_id", "click", "buy"};
  /// Criteo attribution files: which clicks of a converting sequence carry the item-level
  /// conversion (the derived column post_click_conversion); see docs/data.md.
  criteo::Conversion criteo_conversion = criteo::Conversion::kLastClick;
};

/// What a column is used for. Everything not named in the schema is ignored.
enum class SlotKind { kLabel, kCategorical, kNumeric, kGroup, kList, kPosition, kTimestamp, kAux };

/// One input column the schema reads; readers fill RawRow values by slot index.
struct Slot {
  std::string column;
  SlotKind kind;
  /// Index within its kind: label column number, categorical field, numeric field, aux column.
  int index = 0;
};

struct Schema {
  std::vector<LabelSpec> labels;
  std::vector<CategoricalSpec> categorical;
  std::vector<NumericSpec> numeric;
  std::string group_column;      // e.g. user id, for GAUC
  std::string list_column;       // list / session / query id (list models)
  std::string position_column;   // position in the list
  std::string timestamp_column;  // event time
  /// Extra float columns carried into the cache but never used as features
  /// (e.g. the simulator's true probabilities).
  std::vector<std::string> aux_columns;
  /// Known true probabilities (the simulator's): per event, the aux column holding the true
  /// P(event | parent event, features) of each row, or "" when unknown. Parsed from
  /// "truth": {"click": "true_click", ...}; every named column is also an aux column.
  std::vector<std::string> truth_columns;
  /// List data (the simulator's lists preset): per event, the aux column of the inherent true
  /// P(event | parent event, features), without the effect of the list's earlier behaviour
  /// (HEROES's inherent relevance, where truth_columns hold the behavioural one), or "".
  /// "inherent_truth": {"click": "inherent_click", ...}; every named column is an aux column.
  std::vector<std::string> inherent_truth_columns;

  /// Every column the schema reads, in a fixed order; label columns first.
  std::vector<Slot> slots() const;
  /// Number of distinct label input columns (an event may OR several).
  int num_label_columns() const;
  /// Throws funnel::Error on an inconsistent schema (duplicate names, a label column used as a
  /// feature, a bad parent, unsorted boundaries, ...).
  void validate() const;
};

/// Everything about reading one data set.
struct VocabOptions {
  /// Keep an id when it occurs at least `min_count` times in the training split (AITM's
  /// "more than 10 times" is min_count = 11); rarer and unseen ids map to 0.
  int64_t min_count = 1;
  /// > 0: no vocabulary; id = 1 + hash(value) % (hash_buckets - 1), 0 for missing.
  int64_t hash_buckets = 0;
};

enum class BadRowPolicy { kFail, kSkip };

/// Which items of a list longer than DataConfig::max_list_length are kept, in list order.
enum class ListKeep { kFirst, kLast };

/// One input file; raw Ali-CCP inputs are a skeleton file plus its common-features file.
struct InputFile {
  std::string path;
  std::string common_path;  // raw Ali-CCP only
  /// Delimited files: -1 = as FormatSpec::header, 0 = no header line, 1 = header line.
  int header = -1;
};

struct DataConfig {
  FormatSpec format;
  Schema schema;
  std::vector<InputFile> train, validation, test;
  /// The binary cache of this data ("cache", relative to the config's folder; empty: none
  /// named): what train, search and compare use when --cache is not given. `funnel
  /// simulate` names the cache it writes.
  std::string cache;
  /// When no validation files are given: fraction of the training rows held out, chosen by a
  /// seeded hash of the row number (the same rows for the same seed); with a list column, of
  /// the list id, so that a list is never cut between train and validation.
  double validation_ratio = 0.0;
  uint64_t split_seed = 42;
  VocabOptions vocab;
  BadRowPolicy on_bad_row = BadRowPolicy::kFail;
  /// With kSkip: fail anyway when bad rows exceed this fraction of a split's data lines.
  double max_bad_fraction = 0.01;
  /// Token and raw Ali-CCP input name a field in every entry: entries of fields the schema
  /// does not read are ignored and counted per name, and more than this many distinct such
  /// names fail the read (field names corrupted, not left out on purpose).
  size_t max_unread_fields = 100;
  /// Rows where an event is 1 but its parent is 0 (conversion without click) are dropped by
  /// default, as the literature does; true keeps them (counted either way).
  bool keep_funnel_violations = false;
  /// Longest accepted categorical value, in bytes.
  size_t max_value_bytes = 256;
  /// Raw Ali-CCP: memory budget of the cache of common-feature lines, in bytes.
  size_t common_cache_bytes = size_t{64} << 20;
  /// List data: the converter groups each split's rows by list and orders them by (position,
  /// timestamp, input order), lists in order of their first row (an external sort; input that
  /// is already in that order is written as it is). False keeps the input's order (list
  /// batches then refuse a split whose lists are not consecutive and ordered).
  bool group_lists = true;
  /// Memory of that sort: sorted runs of at most this many bytes (the table of list ids
  /// counts against it) are spilled to the cache folder and merged ("sort_memory_mb").
  size_t sort_memory_bytes = size_t{64} << 20;
  /// Longest list kept (0: no limit); longer lists keep `list_keep` items, the rest of their
  /// rows are dropped and counted. Needs a list column and group_lists.
  uint64_t max_list_length = 0;
  ListKeep list_keep = ListKeep::kFirst;
};

/// Parses the "data" object of an experiment config. Relative paths are resolved against
/// `base_dir`. Unknown keys are errors (with the JSON path), so typos never pass silently.
/// "train" may be absent: a config used with an existing cache needs only the schema and the
/// format; data::convert_to_cache is where training files are required.
DataConfig parse_data_config(const nlohmann::json& data, const std::string& base_dir);
/// The whole resolved "data" section, in the layout parse_data_config reads: every field is
/// written, so parse_data_config(data_config_to_json(c), "") equals c (paths are already
/// resolved, hence the empty base_dir). common_cache_bytes and sort_memory_bytes are
/// written in whole MiB, as read.
nlohmann::json data_config_to_json(const DataConfig& config);

/// The schema part only (also stored in caches and bundles).
Schema parse_schema(const nlohmann::json& data);
/// The schema keys of a "data" section; parse_schema(schema_to_json(s)) equals s.
nlohmann::json schema_to_json(const Schema& schema);

/// "csv", "tsv", "tokens", "aliccp_raw" or an object {"type": ..., "delimiter": ..., ...};
/// `path` names it in messages.
FormatSpec parse_format(const nlohmann::json& format, const std::string& path = "data.format");
/// The object form with every field resolved; parse_format(format_to_json(f)) equals f.
nlohmann::json format_to_json(const FormatSpec& format);

const char* slot_kind_name(SlotKind kind);

}  // namespace funnel::data
