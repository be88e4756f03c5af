#include "serve/predictor.h"

#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "data/batch_builder.h"
#include "data/reader.h"
#include "data/row_encoder.h"

namespace funnel::serve {

Predictor::Predictor(const model::LoadedBundle& bundle)
    : bundle_(bundle), evaluator_(*bundle.net, *bundle.embedding, bundle.funnel) {}

nlohmann::json unknown_values_json(const data::Layout& layout,
                                   const std::vector<uint64_t>& unknown) {
  nlohmann::json out = nlohmann::json::object();
  for (size_t f = 0; f < unknown.size(); ++f) {
    if (unknown[f] > 0) out[layout.sparse[f].name] = unknown[f];
  }
  return out;
}

data::DataConfig bundle_data_config(const model::BundleMeta& bundle, bool with_labels,
                                    bool lists) {
  data::DataConfig c = bundle.data;
  if (!with_labels) {
    // Prediction input needs only the features: no labels, group or list bookkeeping (a list
    // model keeps its lists, positions and time stamps).
    c.schema.labels.clear();
    c.schema.group_column.clear();
    if (!lists) {
      c.schema.list_column.clear();
      c.schema.position_column.clear();
      c.schema.timestamp_column.clear();
    }
  }
  return c;
}

uint64_t score_text(const model::LoadedBundle& bundle, const data::DataConfig& config,
                    const std::vector<data::InputFile>& files, const TextScoringOptions& options,
                    const ScoreSink& sink) {
  data::DataConfig read_config = config;
  data::Schema& schema = read_config.schema;
  // Auxiliary columns are never features: not required in the input unless asked for. The id
  // column, when asked for, is read as the last auxiliary column (the last slot) and dropped.
  const bool has_id = !options.id_column.empty();
  if (!options.with_aux) schema.aux_columns.clear();
  int id_slot = -1;
  if (has_id) {
    schema.aux_columns.push_back(options.id_column);
    id_slot = static_cast<int>(schema.slots().size()) - 1;
  }
  const data::RowEncoder encoder(read_config);
  Predictor predictor(bundle);
  data::BatchBuilder builder(bundle.layout, bundle.vocabs, bundle.dense_mean, bundle.dense_std);
  data::RawRow raw;
  data::EncodedRow enc;
  std::vector<std::string> ids;
  uint64_t row = 0, bad = 0;
  if (options.unknown_values) options.unknown_values->assign(bundle.layout.sparse.size(), 0);
  auto flush = [&] {
    if (builder.size() == 0) return;
    const data::Batch& b = builder.batch();
    sink(b, predictor.score(b), ids);
    builder.clear();
    ids.clear();
  };
  const bool lists = bundle.net->reads_lists();
  FUNNEL_CHECK(!lists || !schema.list_column.empty(),
               "model '" << bundle.model.name
                         << "' reads whole lists, but the input's schema names no list column "
                            "(data.list)");
  FUNNEL_CHECK(!bundle.net->reads_feedback() || !schema.labels.empty(),
               "model '" << bundle.model.name
                         << "' reads the observed behaviour on earlier items (feedback: "
                            "observed): the input must carry the label columns");
  // Lists: the list being read, where it started, the lists already done (list key -> its
  // first line), and the last position seen.
  bool in_list = false;
  uint64_t list = 0, list_line = 0;
  int32_t last_position = 0;
  std::unordered_map<uint64_t, uint64_t> done;
  auto start_list = [&](const data::EncodedRow& e, const std::string& path, uint64_t line) {
    if (in_list) done.emplace(list, list_line);
    const auto again = done.find(e.list);
    if (again != done.end()) {
      throw DataError(path, line, schema.list_column, "list_order",
                      "this list's rows began at line " + std::to_string(again->second) +
                          " and come back after other lists: a list model scores whole lists, "
                          "so the input must be grouped by list (sort it by list, then "
                          "position)");
    }
    if (builder.size() >= options.batch_size) flush();
    builder.start_list();
    in_list = true;
    list = e.list;
    list_line = line;
  };
  for (const auto& f : files) {
    auto reader = data::open_reader(read_config, f);
    for (;;) {
      try {
        if (!reader->next(raw)) break;
        encoder.encode(raw, reader->path(), enc);
      } catch (const DataError& e) {
        if (config.on_bad_row == data::BadRowPolicy::kFail) throw;
        if (++bad <= 5) log_warning(std::string("skipped bad row: ") + e.what());
        continue;
      }
      if (options.with_labels && enc.violation >= 0 && !config.keep_funnel_violations) continue;
      // The id was read as an extra aux column: drop it from the model's aux values.
      if (has_id) {
        ids.emplace_back(raw.cell[id_slot]);
        enc.aux.pop_back();
      }
      if (lists) {
        if (!in_list || enc.list != list) {
          start_list(enc, reader->path(), raw.line);
        } else if (!schema.position_column.empty() && enc.position < last_position) {
          throw DataError(reader->path(), raw.line, schema.position_column, "list_order",
                          "position " + std::to_string(enc.position) + " after " +
                              std::to_string(last_position) +
                              " in the same list: a list's rows must be ordered by position");
        }
        last_position = enc.position;
        builder.add(enc, row++, options.unknown_values);
        continue;
      }
      builder.add(enc, row++, options.unknown_values);
      if (builder.size() == options.batch_size) flush();
    }
  }
  flush();
  return bad;
}

}  // namespace funnel::serve
