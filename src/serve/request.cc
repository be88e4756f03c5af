#include "serve/request.h"

#include <cmath>
#include <cstdio>
#include <deque>

#include "data/batch_builder.h"
#include "data/raw_row.h"
#include "serve/predictor.h"

namespace funnel::serve {
namespace {

/// A JSON value for a message, cut short.
std::string shown(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw RequestError(400, path + ": " + what);
}

/// Where a feature's value came from: an item, or the shared "user" / "context" objects.
enum class Source { kItem, kUser, kContext };

const char* source_name(Source s) {
  return s == Source::kUser ? "user" : s == Source::kContext ? "context" : "the item";
}

}  // namespace

RequestEncoder::RequestEncoder(const model::LoadedBundle& bundle)
    : bundle_(bundle),
      config_([&] {
        data::DataConfig c = bundle_data_config(bundle, /*with_labels=*/false);
        // Auxiliary columns (the simulator's truth) are never features.
        c.schema.aux_columns.clear();
        c.schema.truth_columns.clear();
        return c;
      }()),
      encoder_(config_) {
  const std::vector<data::Slot> slots = config_.schema.slots();
  num_slots_ = slots.size();
  for (size_t k = 0; k < slots.size(); ++k) {
    const data::Slot& s = slots[k];
    Field f;
    f.slot = static_cast<int>(k);
    if (s.kind == data::SlotKind::kCategorical) {
      const data::CategoricalSpec& c = config_.schema.categorical[s.index];
      f.name = c.name;
      f.multi = c.multi;
      f.weighted = c.weighted;
    } else if (s.kind == data::SlotKind::kNumeric) {
      f.name = config_.schema.numeric[s.index].name;
      f.numeric = true;
    } else {
      continue;  // no other column is read from a request
    }
    fields_.push_back(f);
  }
  for (const auto& f : bundle.layout.sparse) sparse_names_.push_back(f.name);
}

nlohmann::json RequestEncoder::fields() const {
  nlohmann::json out = nlohmann::json::array();
  for (const Field& f : fields_) {
    out.push_back({{"name", f.name},
                   {"kind", f.numeric ? "numeric" : "categorical"},
                   {"multi", f.multi},
                   {"weighted", f.weighted}});
  }
  return out;
}

EncodedRequest RequestEncoder::encode(const nlohmann::json& request, size_t max_items) const {
  if (!request.is_object()) throw RequestError(400, "the request must be a JSON object");
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& k = it.key();
    if (k != "model" && k != "user" && k != "context" && k != "items") {
      bad(k, "unknown key (known: model, user, context, items)");
    }
  }
  if (!request.contains("items") || !request["items"].is_array()) {
    bad("items", "required: a list of the items to score");
  }
  const nlohmann::json& items = request["items"];
  if (items.empty()) bad("items", "the list is empty");
  if (items.size() > max_items) {
    throw RequestError(413, "items: " + std::to_string(items.size()) +
                                " items, more than the server's limit of " +
                                std::to_string(max_items) + " per request");
  }

  auto field_index = [&](const std::string& name, const std::string& path) -> size_t {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].name == name) return i;
    }
    std::string known;
    for (size_t i = 0; i < fields_.size() && i < 20; ++i) {
      known += (i ? ", " : "") + fields_[i].name;
    }
    if (fields_.size() > 20) known += ", ...";
    bad(path, "unknown field '" + name + "' (the model's fields: " + known + ")");
  };
  // Texts of the request's values; a deque keeps the views of RawRow valid while it grows.
  std::deque<std::string> texts;
  // Puts one value of field `f` into `row` (null: missing, as an empty cell in training).
  auto fill = [&](const Field& f, const nlohmann::json& v, const std::string& path,
                  data::RawRow& row) {
    row.present[f.slot] = 1;
    if (v.is_null()) return;
    auto text_of = [&](const nlohmann::json& x, const std::string& p) -> std::string_view {
      if (x.is_string()) {
        texts.push_back(x.get<std::string>());
      } else if (x.is_number_integer()) {
        texts.push_back(x.dump());
      } else {
        bad(p, "expected a string or an integer, got " + shown(x));
      }
      return texts.back();
    };
    if (f.numeric) {
      if (!v.is_number()) bad(path, "expected a number, got " + shown(v));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
      texts.push_back(buf);
      row.cell[f.slot] = texts.back();
      return;
    }
    if (!f.multi) {
      row.cell[f.slot] = text_of(v, path);
      return;
    }
    auto& tokens = row.tokens[f.slot];
    if (v.is_array()) {
      for (size_t k = 0; k < v.size(); ++k) {
        tokens.push_back({text_of(v[k], path + "[" + std::to_string(k) + "]"), 1.0f});
      }
    } else if (f.weighted && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it.value().is_number() || !std::isfinite(it.value().get<double>())) {
          bad(path + "." + it.key(), "expected a weight (a number), got " + shown(it.value()));
        }
        texts.push_back(it.key());
        tokens.push_back({texts.back(), it.value().get<float>()});
      }
    } else {
      bad(path, f.weighted ? "expected {value: weight, ...} or a list of values, got " + shown(v)
                           : "expected a list of values, got " + shown(v));
    }
    // An empty list is an empty bag, as an empty cell in training.
  };
  // Runs the schema's encoder; its errors name the request's field instead of a column.
  auto encode_row = [&](const data::RawRow& row, const std::vector<std::string>& paths,
                        data::EncodedRow& out) {
    try {
      encoder_.encode(row, "request", out);
    } catch (const DataError& e) {
      for (const Field& f : fields_) {
        if (config_.schema.slots()[f.slot].column == e.column()) bad(paths[f.slot], e.message());
      }
      throw RequestError(400, e.message());
    }
  };

  // The shared part: user and context, encoded once for every item.
  std::vector<int> shared(fields_.size(), -1);  // Source of a shared field, -1 = the items'
  std::vector<std::string> shared_paths(num_slots_);
  data::RawRow shared_row;
  shared_row.reset(num_slots_);
  for (Source part : {Source::kUser, Source::kContext}) {
    const char* key = source_name(part);
    if (!request.contains(key) || request[key].is_null()) continue;
    const nlohmann::json& obj = request[key];
    if (!obj.is_object()) bad(key, "expected an object of field values, got " + shown(obj));
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const std::string path = std::string(key) + "." + it.key();
      const size_t i = field_index(it.key(), path);
      if (shared[i] >= 0) {
        bad(path, std::string("also given in ") + source_name(static_cast<Source>(shared[i])));
      }
      shared[i] = static_cast<int>(part);
      shared_paths[fields_[i].slot] = path;
      fill(fields_[i], it.value(), path, shared_row);
    }
  }
  data::EncodedRow shared_enc;
  encode_row(shared_row, shared_paths, shared_enc);

  const data::Layout& layout = bundle_.layout;
  // Which encoded fields come from the shared part.
  std::vector<uint8_t> sparse_shared(layout.sparse.size(), 0), dense_shared(layout.dense_source.size(), 0);
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (shared[i] < 0) continue;
    for (size_t s = 0; s < layout.sparse.size(); ++s) {
      if (layout.sparse[s].name == fields_[i].name) sparse_shared[s] = 1;
    }
    for (size_t d = 0; d < layout.dense_source.size(); ++d) {
      if (config_.schema.numeric[layout.dense_source[d]].name == fields_[i].name) {
        dense_shared[d] = 1;
      }
    }
  }
  EncodedRequest out;
  out.oov.assign(layout.sparse.size(), 0);
  auto count_oov = [&](const data::EncodedRow& row, bool shared_fields) {
    for (size_t s = 0; s < layout.sparse.size(); ++s) {
      if ((sparse_shared[s] != 0) != shared_fields || layout.sparse[s].bucketized) continue;
      const data::Vocabulary& v = bundle_.vocabs[s];
      if (layout.sparse[s].multi) {
        for (uint64_t k : row.keys[s]) out.oov[s] += k != 0 && v.id(k) == 0;
      } else {
        out.oov[s] += row.single[s] != 0 && v.id(row.single[s]) == 0;
      }
    }
  };
  count_oov(shared_enc, true);

  data::BatchBuilder builder(layout, bundle_.vocabs, bundle_.dense_mean, bundle_.dense_std);
  out.ids.reserve(items.size());
  data::RawRow row;
  data::EncodedRow enc;
  std::vector<std::string> paths(num_slots_);
  for (size_t n = 0; n < items.size(); ++n) {
    const std::string prefix = "items[" + std::to_string(n) + "]";
    const nlohmann::json& item = items[n];
    if (!item.is_object()) bad(prefix, "expected an object of field values, got " + shown(item));
    row.reset(num_slots_);
    row.line = n + 1;
    nlohmann::json id;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string path = prefix + "." + it.key();
      if (it.key() == "id") {
        if (!it.value().is_primitive()) bad(path, "expected a string or a number");
        id = it.value();
        continue;
      }
      const size_t i = field_index(it.key(), path);
      if (shared[i] >= 0) {
        bad(path, std::string("also given in ") + source_name(static_cast<Source>(shared[i])));
      }
      paths[fields_[i].slot] = path;
      fill(fields_[i], it.value(), path, row);
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (shared[i] < 0 && !row.present[fields_[i].slot]) {
        bad(prefix, "field '" + fields_[i].name +
                        "' is missing (give it in the item, in user or in context; null for an "
                        "unknown value)");
      }
    }
    encode_row(row, paths, enc);
    // Broadcast the shared values into the item's row.
    for (size_t s = 0; s < layout.sparse.size(); ++s) {
      if (!sparse_shared[s]) continue;
      enc.single[s] = shared_enc.single[s];
      enc.keys[s] = shared_enc.keys[s];
      enc.weights[s] = shared_enc.weights[s];
    }
    for (size_t d = 0; d < layout.dense_source.size(); ++d) {
      if (dense_shared[d]) enc.dense[d] = shared_enc.dense[d];
    }
    count_oov(enc, false);
    builder.add(enc, n);
    out.ids.push_back(std::move(id));
  }
  out.batch = builder.batch();
  return out;
}

}  // namespace funnel::serve
