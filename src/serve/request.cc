#include "serve/request.h"

#include <cmath>
#include <cstdio>
#include <deque>

#include "core/json_text.h"
#include "core/utf8.h"
#include "data/batch_builder.h"
#include "data/raw_row.h"
#include "serve/predictor.h"  // bundle_data_config

namespace funnel::serve {
namespace {

/// A JSON value for a message, cut short (on a character boundary).
std::string shown(const nlohmann::json& v) { return printable(json_text(v), 57); }

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw RequestError(400, path + ": " + what);
}

/// Where a feature's value came from: an item, or the shared "user" / "context" objects.
enum class Source { kItem, kUser, kContext };

const char* source_name(Source s) {
  return s == Source::kUser ? "user" : s == Source::kContext ? "context" : "the item";
}

/// Where a value sits in the request, turned into its JSON path ("items[3].205",
/// "user.101") only when a message needs it.
struct Where {
  Source part = Source::kItem;
  size_t item = 0;                   // with kItem
  const std::string* key = nullptr;  // the field; nullptr: the item (or object) itself

  std::string str() const {
    std::string s = part == Source::kItem ? "items[" + std::to_string(item) + "]"
                                          : std::string(source_name(part));
    if (key != nullptr) s += "." + *key;
    return s;
  }
};

}  // namespace

nlohmann::json parse_request_body(const std::string& body) {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    throw RequestError(400, std::string("malformed JSON: ") + e.what());
  }
}

RequestEncoder::RequestEncoder(const model::BundleMeta& bundle, bool one_list)
    : bundle_(bundle),
      config_([&] {
        data::DataConfig c = bundle_data_config(bundle, /*with_labels=*/false);
        // Auxiliary columns (the simulator's truth) are never features.
        c.schema.aux_columns.clear();
        c.schema.truth_columns.clear();
        c.schema.inherent_truth_columns.clear();
        return c;
      }()),
      encoder_(config_),
      one_list_(one_list) {
  const std::vector<data::Slot> slots = config_.schema.slots();
  num_slots_ = slots.size();
  const data::Layout& layout = bundle.layout;
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
    for (size_t i = 0; i < layout.sparse.size(); ++i) {
      if (layout.sparse[i].name == f.name) f.sparse.push_back(i);
    }
    for (size_t d = 0; d < layout.dense_source.size(); ++d) {
      if (config_.schema.numeric[layout.dense_source[d]].name == f.name) f.dense.push_back(d);
    }
    field_by_name_.emplace(f.name, fields_.size());
    fields_.push_back(f);
  }
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

template <typename Path>
size_t RequestEncoder::field_index(const std::string& name, const Path& path) const {
  const auto it = field_by_name_.find(name);
  if (it != field_by_name_.end()) return it->second;
  std::string known;
  for (size_t i = 0; i < fields_.size() && i < 20; ++i) known += (i ? ", " : "") + fields_[i].name;
  if (fields_.size() > 20) known += ", ...";
  bad(path.str(), "unknown field '" + name + "' (the model's fields: " + known + ")");
}

EncodedRequest RequestEncoder::encode(const nlohmann::json& request, size_t max_items) const {
  if (!request.is_object()) throw RequestError(400, "the request must be a JSON object");
  for (auto it = request.begin(); it != request.end(); ++it) {
    const std::string& k = it.key();
    if (k != "model" && k != "user" && k != "context" && k != "items") {
      bad(k, "unknown key (known: model, user, context, items)");
    }
  }
  const auto items_it = request.find("items");
  if (items_it == request.end() || !items_it->is_array()) {
    bad("items", "required: a list of the items to score");
  }
  const nlohmann::json& items = *items_it;
  if (items.empty()) bad("items", "the list is empty");
  if (items.size() > max_items) {
    throw RequestError(413, "items: " + std::to_string(items.size()) +
                                " items, more than the server's limit of " +
                                std::to_string(max_items) + " per request");
  }

  // Texts made for the request's integers and numbers (strings are viewed in place); a deque
  // keeps the views of RawRow valid while it grows.
  std::deque<std::string> texts;
  auto text_of = [&](const nlohmann::json& x, const auto& path) -> std::string_view {
    if (x.is_string()) return x.get_ref<const std::string&>();
    if (!x.is_number_integer()) bad(path(), "expected a string or an integer, got " + shown(x));
    texts.push_back(x.dump());
    return texts.back();
  };
  // Puts one value of field `f` into `row` (null: missing, as an empty cell in training).
  auto fill = [&](const Field& f, const nlohmann::json& v, const Where& where, data::RawRow& row) {
    row.present[f.slot] = 1;
    if (v.is_null()) return;
    if (f.numeric) {
      if (!v.is_number()) bad(where.str(), "expected a number, got " + shown(v));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.get<double>());
      texts.push_back(buf);
      row.cell[f.slot] = texts.back();
      return;
    }
    if (!f.multi) {
      row.cell[f.slot] = text_of(v, [&] { return where.str(); });
      return;
    }
    auto& tokens = row.tokens[f.slot];
    if (v.is_array()) {
      for (size_t k = 0; k < v.size(); ++k) {
        tokens.push_back(
            {text_of(v[k], [&] { return where.str() + "[" + std::to_string(k) + "]"; }), 1.0f});
      }
    } else if (f.weighted && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it.value().is_number() || !std::isfinite(it.value().get<double>())) {
          bad(where.str() + "." + it.key(),
              "expected a weight (a number), got " + shown(it.value()));
        }
        tokens.push_back({it.key(), it.value().get<float>()});
      }
    } else {
      bad(where.str(), f.weighted
                           ? "expected {value: weight, ...} or a list of values, got " + shown(v)
                           : "expected a list of values, got " + shown(v));
    }
    // An empty list is an empty bag, as an empty cell in training.
  };

  // The shared part: user and context, encoded once for every item.
  std::vector<int> shared(fields_.size(), -1);  // Source of a shared field, -1 = the items'
  // Runs the schema's encoder; its errors name the request's field instead of a column.
  auto encode_row = [&](const data::RawRow& row, const Where& where, data::EncodedRow& out) {
    try {
      encoder_.encode(row, "request", out);
    } catch (const DataError& e) {
      for (const Field& f : fields_) {
        if (config_.schema.slots()[f.slot].column != e.column()) continue;
        const size_t i = &f - fields_.data();
        Where at = where;
        if (shared[i] >= 0) at.part = static_cast<Source>(shared[i]);
        at.key = &f.name;
        bad(at.str(), e.message());
      }
      throw RequestError(400, e.message());
    }
  };
  data::RawRow shared_row;
  shared_row.reset(num_slots_);
  for (Source part : {Source::kUser, Source::kContext}) {
    const char* key = source_name(part);
    const auto obj_it = request.find(key);
    if (obj_it == request.end() || obj_it->is_null()) continue;
    const nlohmann::json& obj = *obj_it;
    if (!obj.is_object()) bad(key, "expected an object of field values, got " + shown(obj));
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      const Where where{part, 0, &it.key()};
      const size_t i = field_index(it.key(), where);
      if (shared[i] >= 0) {
        bad(where.str(),
            std::string("also given in ") + source_name(static_cast<Source>(shared[i])));
      }
      shared[i] = static_cast<int>(part);
      fill(fields_[i], it.value(), where, shared_row);
    }
  }
  data::EncodedRow shared_enc;
  encode_row(shared_row, Where{Source::kUser}, shared_enc);

  const data::Layout& layout = bundle_.layout;
  // Which encoded fields come from the shared part.
  std::vector<size_t> sparse_shared, dense_shared;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (shared[i] < 0) continue;
    sparse_shared.insert(sparse_shared.end(), fields_[i].sparse.begin(), fields_[i].sparse.end());
    dense_shared.insert(dense_shared.end(), fields_[i].dense.begin(), fields_[i].dense.end());
  }
  EncodedRequest out;
  out.oov.assign(layout.sparse.size(), 0);

  data::BatchBuilder builder(layout, bundle_.vocabs, bundle_.dense_mean, bundle_.dense_std);
  if (one_list_ && !items.empty()) builder.start_list();
  out.ids.reserve(items.size());
  data::RawRow row;
  data::EncodedRow enc;
  for (size_t n = 0; n < items.size(); ++n) {
    const nlohmann::json& item = items[n];
    if (!item.is_object()) {
      bad(Where{Source::kItem, n}.str(), "expected an object of field values, got " + shown(item));
    }
    row.reset(num_slots_);
    row.line = n + 1;
    nlohmann::json id;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const Where where{Source::kItem, n, &it.key()};
      if (it.key() == "id") {
        if (!it.value().is_primitive()) bad(where.str(), "expected a string or a number");
        id = it.value();
        continue;
      }
      const size_t i = field_index(it.key(), where);
      if (shared[i] >= 0) {
        bad(where.str(),
            std::string("also given in ") + source_name(static_cast<Source>(shared[i])));
      }
      fill(fields_[i], it.value(), where, row);
    }
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (shared[i] < 0 && !row.present[fields_[i].slot]) {
        bad(Where{Source::kItem, n}.str(),
            "field '" + fields_[i].name +
                "' is missing (give it in the item, in user or in context; null for an "
                "unknown value)");
      }
    }
    encode_row(row, Where{Source::kItem, n}, enc);
    // Broadcast the shared values into the item's row.
    for (size_t s : sparse_shared) {
      enc.single[s] = shared_enc.single[s];
      enc.keys[s] = shared_enc.keys[s];
      enc.weights[s] = shared_enc.weights[s];
    }
    for (size_t d : dense_shared) enc.dense[d] = shared_enc.dense[d];
    builder.add(enc, n, &out.oov);
    out.ids.push_back(std::move(id));
  }
  // A shared value is one value of the request, counted once (the builder saw it per item).
  for (size_t s : sparse_shared) out.oov[s] /= items.size();
  out.batch = builder.batch();
  // Every item has the shared values: the model may compute their part once.
  out.batch.uniform_sparse.assign(sparse_shared.begin(), sparse_shared.end());
  out.batch.uniform_dense.assign(dense_shared.begin(), dense_shared.end());
  return out;
}

}  // namespace funnel::serve
