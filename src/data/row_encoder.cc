#include "data/row_encoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/hash.h"
#include "core/utf8.h"
#include "data/parse_number.h"

namespace funnel::data {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// A value in a message: quoted, at most 40 bytes, valid UTF-8 (core/utf8.h).
std::string shown(std::string_view s) { return "'" + printable(s, 40) + "'"; }

bool parse_double(std::string_view s, double& out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

}  // namespace

RowEncoder::RowEncoder(const DataConfig& config)
    : config_(config), layout_(Layout::from_schema(config.schema)), slots_(config.schema.slots()) {
  const auto& s = config.schema;
  event_columns_.resize(s.labels.size());
  for (size_t e = 0; e < s.labels.size(); ++e) {
    for (const auto& col : s.labels[e].columns) {
      for (size_t k = 0; k < slots_.size(); ++k) {
        if (slots_[k].kind == SlotKind::kLabel && slots_[k].column == col) {
          event_columns_[e].push_back(static_cast<int>(k));
        }
      }
    }
  }
  auto find_slot = [&](SlotKind kind, int index) {
    for (size_t k = 0; k < slots_.size(); ++k) {
      if (slots_[k].kind == kind && slots_[k].index == index) return static_cast<int>(k);
    }
    return -1;
  };
  for (const auto& f : layout_.sparse) {
    sparse_slot_.push_back(
        find_slot(f.bucketized ? SlotKind::kNumeric : SlotKind::kCategorical, f.source));
  }
  for (int src : layout_.dense_source) dense_slot_.push_back(find_slot(SlotKind::kNumeric, src));
  for (size_t i = 0; i < layout_.aux.size(); ++i) {
    aux_slot_.push_back(find_slot(SlotKind::kAux, static_cast<int>(i)));
  }
  group_slot_ = find_slot(SlotKind::kGroup, 0);
  list_slot_ = find_slot(SlotKind::kList, 0);
  position_slot_ = find_slot(SlotKind::kPosition, 0);
  timestamp_slot_ = find_slot(SlotKind::kTimestamp, 0);
}

void RowEncoder::bad_value(std::string_view text, const RawRow& row, int slot,
                           const std::string& file) const {
  if (text.size() > config_.max_value_bytes) {
    throw DataError(file, row.line, slots_[slot].column, "value_too_long",
                    "value of " + std::to_string(text.size()) + " bytes exceeds max_value_bytes (" +
                        std::to_string(config_.max_value_bytes) + "): " + shown(text));
  }
  if (text.find('\0') != std::string_view::npos) {
    throw DataError(file, row.line, slots_[slot].column, "value_nul",
                    "value holds a NUL byte: " + shown(text));
  }
  throw DataError(file, row.line, slots_[slot].column, "value_utf8",
                  "value is not valid UTF-8: " + shown(text));
}

inline uint64_t RowEncoder::checked_key(std::string_view text, const RawRow& row, int slot,
                                        const std::string& file) const {
  bool ascii, nul;
  const uint64_t h = hash_bytes(text, &ascii, &nul);
  if (text.size() > config_.max_value_bytes || nul || (!ascii && !valid_utf8(text))) {
    bad_value(text, row, slot, file);
  }
  return h == 0 ? 1 : h;
}

void RowEncoder::encode_categorical(const RawRow& row, int slot, const std::string& file,
                                    size_t field, EncodedRow& out) const {
  const SparseField& f = layout_.sparse[field];
  const auto& tokens = row.tokens[slot];
  if (!f.multi) {
    // Readers of token formats reject a repeated single-valued field, so <= 1 token here.
    const std::string_view v = tokens.empty() ? row.cell[slot] : tokens[0].text;
    out.single[field] = v.empty() ? 0 : checked_key(v, row, slot, file);
    return;
  }
  auto& keys = out.keys[field];
  auto& weights = out.weights[field];
  keys.clear();
  weights.clear();
  if (!tokens.empty()) {
    // Formats that list values one by one (tokens, raw Ali-CCP).
    for (const Token& t : tokens) {
      if (t.text.empty()) continue;
      keys.push_back(checked_key(t.text, row, slot, file));
      if (f.weighted) {
        if (!std::isfinite(t.weight)) {
          throw DataError(file, row.line, slots_[slot].column, "weight_value",
                          "weight is not a finite number");
        }
        weights.push_back(t.weight);
      }
    }
    return;
  }
  const std::string_view cell = row.cell[slot];
  if (cell.empty()) return;  // an empty bag
  const char sep = config_.format.multi_separator;
  const char wsep = config_.format.weight_separator;
  size_t start = 0;
  for (;;) {
    const size_t end = std::min(cell.find(sep, start), cell.size());
    std::string_view item = cell.substr(start, end - start);
    if (item.empty()) {
      throw DataError(file, row.line, slots_[slot].column, "empty_value",
                      "empty value in the list " + shown(cell));
    }
    if (f.weighted) {
      const size_t colon = item.rfind(wsep);
      double w = 1.0;
      if (colon != std::string_view::npos) {
        if (!parse_double(item.substr(colon + 1), w)) {
          throw DataError(file, row.line, slots_[slot].column, "weight_value",
                          "weight is not a number in " + shown(item));
        }
        item = item.substr(0, colon);
      }
      weights.push_back(static_cast<float>(w));
    }
    keys.push_back(checked_key(item, row, slot, file));
    if (end >= cell.size()) break;
    start = end + 1;
  }
}

void RowEncoder::encode(const RawRow& row, const std::string& file, EncodedRow& out) const {
  const size_t num_sparse = layout_.sparse.size();
  out.labels.assign(event_columns_.size(), 0);
  out.single.resize(num_sparse);
  out.keys.resize(num_sparse);
  out.weights.resize(num_sparse);
  out.dense.assign(dense_slot_.size(), kNaN);
  out.aux.assign(aux_slot_.size(), kNaN);
  out.violation = -1;

  // Labels: 0 or 1 (also written 0.0 / 1.0); an event is the OR of its columns.
  for (size_t e = 0; e < event_columns_.size(); ++e) {
    uint8_t v = 0;
    for (int slot : event_columns_[e]) {
      const std::string_view c = row.cell[slot];
      uint8_t b;
      if (c == "0" || c == "0.0") {
        b = 0;
      } else if (c == "1" || c == "1.0") {
        b = 1;
      } else {
        throw DataError(file, row.line, slots_[slot].column, "label_value",
                        "label must be 0 or 1, got " + shown(c));
      }
      v |= b;
    }
    out.labels[e] = v;
  }
  out.violation = layout_.funnel_violation(out.labels.data());

  for (size_t f = 0; f < num_sparse; ++f) {
    const int slot = sparse_slot_[f];
    const SparseField& sf = layout_.sparse[f];
    if (!sf.bucketized) {
      encode_categorical(row, slot, file, f, out);
      continue;
    }
    out.single[f] = 0;
    const std::string_view c = row.cell[slot];
    if (c.empty()) continue;  // missing: id 0
    double x;
    if (!parse_double(c, x)) {
      throw DataError(file, row.line, slots_[slot].column, "numeric_value",
                      "expected a number, got " + shown(c));
    }
    const auto& b = config_.schema.numeric[sf.source].boundaries;
    // Bucket ids 1..n+1: the count of boundaries <= x, plus one.
    out.single[f] = 1 + static_cast<uint64_t>(std::upper_bound(b.begin(), b.end(), x) - b.begin());
  }
  for (size_t d = 0; d < dense_slot_.size(); ++d) {
    const int slot = dense_slot_[d];
    const std::string_view c = row.cell[slot];
    if (c.empty()) continue;
    double x;
    if (!parse_double(c, x)) {
      throw DataError(file, row.line, slots_[slot].column, "numeric_value",
                      "expected a finite number, got " + shown(c));
    }
    out.dense[d] = static_cast<float>(x);
  }
  for (size_t a = 0; a < aux_slot_.size(); ++a) {
    const std::string_view c = row.cell[aux_slot_[a]];
    double x;
    if (c.empty()) continue;
    if (!parse_double(c, x)) {
      throw DataError(file, row.line, slots_[aux_slot_[a]].column, "numeric_value",
                      "expected a number, got " + shown(c));
    }
    out.aux[a] = static_cast<float>(x);
  }
  if (group_slot_ >= 0) out.group = value_key(row.cell[group_slot_]);
  if (list_slot_ >= 0) out.list = value_key(row.cell[list_slot_]);
  if (position_slot_ >= 0) {
    const std::string_view c = row.cell[position_slot_];
    if (!parse_int(c, out.position)) {
      throw DataError(file, row.line, slots_[position_slot_].column, "position_value",
                      "expected an integer position, got " + shown(c));
    }
  }
  if (timestamp_slot_ >= 0) {
    const std::string_view c = row.cell[timestamp_slot_];
    if (!parse_int(c, out.timestamp)) {
      throw DataError(file, row.line, slots_[timestamp_slot_].column, "timestamp_value",
                      "expected an integer timestamp, got " + shown(c));
    }
  }
}

}  // namespace funnel::data
