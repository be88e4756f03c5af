#include "data/aliccp_raw_reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/progress.h"
#include "core/utf8.h"
#include "data/parse_number.h"
#include "data/readers.h"

namespace funnel::data {
namespace {

constexpr char kSkeletonTag[] = "sample_skeleton_";
constexpr char kCommonTag[] = "common_features_";
// Skeleton columns, in file order.
constexpr const char* kSkeletonColumns[] = {"sample_id", "click",       "buy",
                                            "md5",       "feature_num", "feature_list"};
constexpr int kSkeletonColumnCount = 6;
constexpr int kCommonColumnCount = 3;
constexpr int kMd5Column = 3;
constexpr int kFeatureNumColumn = 4;
constexpr int kFeatureListColumn = 5;
constexpr size_t kMd5Chars = 32;
// Show indexing progress only when it takes noticeable time.
constexpr uint64_t kProgressMinBytes = uint64_t{256} << 20;

inline bool is_separator(char c) { return static_cast<unsigned char>(c) <= 3; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Md5 {
  uint64_t hi = 0;
  uint64_t lo = 0;
  bool operator==(const Md5& o) const { return hi == o.hi && lo == o.lo; }
  bool operator<(const Md5& o) const { return hi != o.hi ? hi < o.hi : lo < o.lo; }
};

/// 32 hex digits -> 16 bytes; false on anything else.
bool parse_md5(std::string_view s, Md5& out) {
  if (s.size() != kMd5Chars) return false;
  uint64_t w[2] = {0, 0};
  for (size_t i = 0; i < kMd5Chars; ++i) {
    const int d = hex_digit(s[i]);
    if (d < 0) return false;
    w[i / 16] = (w[i / 16] << 4) | static_cast<uint64_t>(d);
  }
  out.hi = w[0];
  out.lo = w[1];
  return true;
}

bool parse_value(std::string_view s, float& out) {
  // One-hot ids carry "1.0"; skip the general parser for them.
  if (s == "1.0" || s == "1") {
    out = 1.0f;
    return true;
  }
  const char* b = s.data();
  const char* e = b + s.size();
  if (b != e && *b == '+') ++b;
  if (b == e) return false;
  const auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e && std::isfinite(out);
}

/// Splits `line` at its first `n - 1` commas into `cells`; returns the number of columns found
/// (n when there is no further comma, more when there is).
int split_columns(std::string_view line, int n, std::string_view* cells) {
  const char* p = line.data();
  const char* end = p + line.size();
  for (int i = 0; i + 1 < n; ++i) {
    const char* q = static_cast<const char*>(std::memchr(p, ',', static_cast<size_t>(end - p)));
    if (q == nullptr) return i + 1;
    cells[i] = std::string_view(p, static_cast<size_t>(q - p));
    p = q + 1;
  }
  cells[n - 1] = std::string_view(p, static_cast<size_t>(end - p));
  if (std::memchr(p, ',', static_cast<size_t>(end - p)) == nullptr) return n;
  return n + static_cast<int>(std::count(p, end, ','));
}

std::string column_count_message(int expected, int found, bool unterminated) {
  std::string msg = "expected " + std::to_string(expected) + " comma-separated columns, found " +
                    std::to_string(found);
  if (unterminated) msg += " (last line has no newline: file truncated?)";
  return msg;
}

// ---------------------------------------------------------------------------------------------
/// Field id -> the schema slots it feeds. Field ids are short ("205", "109_14"): up to 8 bytes
/// they are packed into one word, so a lookup is one multiply and usually one compare.
class FieldTable {
 public:
  void add(const std::string& field, uint32_t slot) {
    for (auto& f : fields_) {
      if (f.name == field) {
        f.slots.push_back(slot);
        return;
      }
    }
    fields_.push_back({field, key(field), {slot}, nullptr});
    rebuild();
  }

  struct Field {
    std::string name;
    uint64_t key;
    std::vector<uint32_t> slots;
    UnreadField* unread = nullptr;  // a field the schema does not read (no slots)
  };

  /// Registers a field the schema does not read, so that its next entries are found (with
  /// no slots) instead of missed. Invalidates the pointers find() returned.
  void add_unread(std::string_view field, UnreadField* unread) {
    fields_.push_back({std::string(field), key(field), {}, unread});
    rebuild();
  }

  /// The entry of `field`, or nullptr when it has none. `k` is key(field).
  const Field* find(uint64_t k, std::string_view field) const {
    if (table_.empty()) return nullptr;
    for (size_t i = mix64(k) & mask_;; i = (i + 1) & mask_) {
      const int32_t f = table_[i];
      if (f < 0) return nullptr;
      const Field& e = fields_[static_cast<size_t>(f)];
      // Packed keys of up to 8 bytes are exact (field ids hold no NUL: it is a separator).
      if (e.key == k && e.name.size() == field.size() && (field.size() <= 8 || e.name == field)) {
        return &e;
      }
    }
  }

  /// Up to 8 bytes: the bytes packed little-endian; longer: their hash.
  static uint64_t key(std::string_view s) {
    if (s.size() > 8) return hash_bytes(s);
    uint64_t k = 0;
    for (size_t i = 0; i < s.size(); ++i)
      k |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
    return k;
  }

 private:
  void rebuild() {
    size_t cap = 16;
    while (cap < 4 * fields_.size()) cap *= 2;
    table_.assign(cap, -1);
    mask_ = cap - 1;
    for (size_t f = 0; f < fields_.size(); ++f) {
      size_t i = mix64(fields_[f].key) & mask_;
      while (table_[i] >= 0) i = (i + 1) & mask_;
      table_[i] = static_cast<int32_t>(f);
    }
  }

  std::vector<Field> fields_;
  std::vector<int32_t> table_;  // open addressing, -1 = empty
  size_t mask_ = 0;
};

// ---------------------------------------------------------------------------------------------
/// How a schema slot is filled.
enum class SlotMode : uint8_t {
  kSkeleton,     // a plain skeleton column (sample_id, click, buy, md5): the cell
  kTokens,       // categorical field: one Token per occurrence
  kCellFeature,  // group/list/position/timestamp/aux field: the feature id as the cell
  kCellValue,    // numeric field: the value text as the cell
};

struct SlotInfo {
  SlotMode mode = SlotMode::kCellFeature;
  bool weighted = false;
  bool single = true;
};

/// Values of one feature_list per slot (cell slots hold one Token with the cell text).
struct SlotValues {
  std::vector<std::vector<Token>> values;
  std::vector<uint32_t> touched;  // slots with values, in order of first occurrence

  void clear() {
    for (uint32_t s : touched) values[s].clear();
    touched.clear();
  }
};

/// Where a feature_list came from, for error messages.
struct Origin {
  const std::string* file;
  uint64_t line;
  /// Skeleton line joined to this common line (0 for a skeleton line itself).
  uint64_t skeleton_line = 0;
};

// ---------------------------------------------------------------------------------------------
/// One line of the common file, parsed: tokens grouped by slot, viewing into `text` (the
/// bytes of the token texts only).
struct CommonLine {
  struct Range {
    uint32_t slot;
    uint32_t begin;
    uint32_t count;
  };
  uint32_t id = 0;  // index entry
  uint64_t line = 0;
  std::string text;
  std::vector<Token> tokens;
  std::vector<Range> ranges;

  size_t bytes() const {
    return sizeof(CommonLine) + 64 + text.capacity() + tokens.capacity() * sizeof(Token) +
           ranges.capacity() * sizeof(Range);
  }
};

/// md5 -> byte range of its line in the common file; 32 bytes a line, binary search.
struct IndexEntry {
  Md5 md5;
  uint64_t offset;
  uint32_t length;
  uint32_t line;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
class AliccpRawReader::Impl {
 public:
  Impl(const DataConfig& config, const InputFile& file)
      : skeleton_(file.path),
        skeleton_total_(file_size(file.path)),
        common_path_(file.common_path.empty() ? aliccp_common_path(file.path) : file.common_path),
        cache_budget_(config.common_cache_bytes),
        max_unread_(config.max_unread_fields) {
    if (!path_exists(common_path_)) {
      throw DataError(
          file.path, 0, "", "missing_file",
          "common features file " + common_path_ +
              (file.common_path.empty() ? " (derived from the skeleton file name)" : "") +
              " does not exist");
    }
    if (skeleton_total_ == 0) throw DataError(file.path, 0, "", "empty_file", "file is empty");
    map_slots(config, file.path);
    build_index();
    common_ = std::make_unique<RandomAccessFile>(common_path_);
  }

  bool next(RawRow& row) {
    std::string_view line;
    if (!skeleton_.next(line)) return false;
    row.reset(num_slots_);
    row.line = skeleton_.line_number();
    const Origin origin{&skeleton_.path(), row.line};

    std::string_view cells[kSkeletonColumnCount];
    const int found = split_columns(line, kSkeletonColumnCount, cells);
    if (found != kSkeletonColumnCount || line.empty()) {
      throw DataError(skeleton_.path(), row.line, "", "column_count",
                      column_count_message(kSkeletonColumnCount, line.empty() ? 0 : found,
                                           skeleton_.last_line_unterminated()));
    }
    for (int c = 0; c < kSkeletonColumnCount; ++c) {
      for (uint32_t s : skeleton_slots_[c]) {
        row.cell[s] = cells[c];
        row.present[s] = 1;
      }
    }
    skeleton_values_.clear();
    parse_list(cells[kFeatureNumColumn], cells[kFeatureListColumn], origin, true, skeleton_values_);
    const CommonLine& common = fetch(cells[kMd5Column], origin);

    for (uint32_t s : skeleton_values_.touched) {
      const auto& v = skeleton_values_.values[s];
      put(s, v.data(), v.size(), row);
    }
    for (const auto& r : common.ranges) {
      if (row.present[r.slot] && slots_[r.slot].single) {
        throw DataError(skeleton_.path(), row.line, slot_columns_[r.slot], "multiple_values",
                        "field occurs in the skeleton line and in line " +
                            std::to_string(common.line) + " of " + common_path_ +
                            " but is declared single-valued");
      }
      put(r.slot, common.tokens.data() + r.begin, r.count, row);
    }
    return true;
  }

  uint64_t bytes_read() const { return skeleton_.bytes_consumed(); }
  uint64_t bytes_total() const { return skeleton_total_; }
  const std::string& path() const { return skeleton_.path(); }
  const std::string& common_path() const { return common_path_; }
  const AliccpJoinStats& stats() const { return stats_; }
  uint64_t lines_consumed() const { return skeleton_.line_number(); }
  const std::map<std::string, UnreadField>& unread_fields() const { return unread_; }

 private:
  void map_slots(const DataConfig& config, const std::string& path) {
    const std::vector<Slot> slots = config.schema.slots();
    num_slots_ = slots.size();
    slots_.resize(num_slots_);
    slot_columns_.resize(num_slots_);
    skeleton_values_.values.resize(num_slots_);
    common_values_.values.resize(num_slots_);
    for (size_t s = 0; s < num_slots_; ++s) {
      const Slot& slot = slots[s];
      const auto slot_id = static_cast<uint32_t>(s);
      slot_columns_[s] = slot.column;
      SlotInfo& info = slots_[s];
      int skeleton_column = -1;
      for (int c = 0; c < kSkeletonColumnCount; ++c) {
        // feature_num and feature_list are structure, not values.
        if (c != kFeatureNumColumn && c != kFeatureListColumn &&
            slot.column == kSkeletonColumns[c]) {
          skeleton_column = c;
        }
      }
      if (skeleton_column >= 0) {
        info.mode = SlotMode::kSkeleton;
        skeleton_slots_[skeleton_column].push_back(slot_id);
        continue;
      }
      if (slot.kind == SlotKind::kLabel) {
        throw DataError(path, 0, slot.column, "missing_column",
                        "raw Ali-CCP label columns are 'click' and 'buy' (the conversion)");
      }
      if (slot.kind == SlotKind::kCategorical) {
        const CategoricalSpec& spec = config.schema.categorical[static_cast<size_t>(slot.index)];
        info.mode = SlotMode::kTokens;
        info.weighted = spec.weighted;
        info.single = !spec.multi;
      } else {
        info.mode = slot.kind == SlotKind::kNumeric ? SlotMode::kCellValue : SlotMode::kCellFeature;
      }
      fields_.add(slot.column, slot_id);
    }
  }

  /// One sequential pass over the common file: md5 -> (offset, length, line), sorted.
  void build_index() {
    const auto start = std::chrono::steady_clock::now();
    const uint64_t size = file_size(common_path_);
    if (size == 0) throw DataError(common_path_, 0, "", "empty_file", "file is empty");
    std::optional<Progress> progress;
    if (size >= kProgressMinBytes) {
      Progress::Options po;
      po.label = "index common features";
      po.total = size;
      progress.emplace(po);
    }
    LineReader::Options lo;
    lo.chunk_bytes = size_t{8} << 20;
    LineReader lines(common_path_, lo);
    std::string_view line;
    uint64_t offset = 0;
    while (lines.next(line)) {
      const uint64_t n = lines.line_number();
      std::string_view cells[kCommonColumnCount];
      const int found = split_columns(line, kCommonColumnCount, cells);
      if (found != kCommonColumnCount || line.empty()) {
        throw DataError(common_path_, n, "", "column_count",
                        column_count_message(kCommonColumnCount, line.empty() ? 0 : found,
                                             lines.last_line_unterminated()));
      }
      IndexEntry e;
      if (!parse_md5(cells[0], e.md5)) {
        throw DataError(common_path_, n, "md5", "md5",
                        "md5 '" + printable(cells[0], 80) + "' is not 32 hex digits");
      }
      FUNNEL_CHECK(n <= UINT32_MAX && line.size() <= UINT32_MAX,
                   common_path_ << ": too many or too long lines for the md5 index");
      e.offset = offset;
      e.length = static_cast<uint32_t>(line.size());
      e.line = static_cast<uint32_t>(n);
      index_.push_back(e);
      offset = lines.bytes_consumed();
      if (progress) progress->update(offset, n);
    }
    if (progress) progress->finish();
    std::sort(index_.begin(), index_.end(),
              [](const IndexEntry& a, const IndexEntry& b) { return a.md5 < b.md5; });
    // Report the duplicate that comes first in the file.
    uint32_t first = 0, second = UINT32_MAX;
    for (size_t i = 1; i < index_.size(); ++i) {
      if (index_[i].md5 == index_[i - 1].md5) {
        const uint32_t a = std::min(index_[i].line, index_[i - 1].line);
        const uint32_t b = std::max(index_[i].line, index_[i - 1].line);
        if (b < second) {
          first = a;
          second = b;
        }
      }
    }
    if (second != UINT32_MAX) {
      throw DataError(common_path_, second, "md5", "duplicate_md5",
                      "md5 already appears on line " + std::to_string(first) +
                          " (each md5 must name one common-features line)");
    }
    index_.shrink_to_fit();
    common_counted_.assign(index_.size(), false);
    stats_.common_lines = index_.size();
    stats_.common_bytes = size;
    stats_.index_bytes = index_.capacity() * sizeof(IndexEntry);
    stats_.index_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  /// The parsed common line of `md5`, from the cache or read and parsed now.
  const CommonLine& fetch(std::string_view md5_text, const Origin& origin) {
    uint32_t id;
    if (have_last_ && md5_text.size() == kMd5Chars &&
        std::memcmp(md5_text.data(), last_md5_text_, kMd5Chars) == 0) {
      id = last_id_;  // consecutive rows of one user: no parse, no search
    } else {
      Md5 md5;
      if (!parse_md5(md5_text, md5)) {
        throw DataError(*origin.file, origin.line, "md5", "md5",
                        "md5 '" + printable(md5_text, 80) + "' is not 32 hex digits");
      }
      const auto it = std::lower_bound(index_.begin(), index_.end(), md5,
                                       [](const IndexEntry& e, const Md5& m) { return e.md5 < m; });
      if (it == index_.end() || !(it->md5 == md5)) {
        throw DataError(*origin.file, origin.line, "md5", "md5_not_found",
                        "md5 not found in " + common_path_);
      }
      id = static_cast<uint32_t>(it - index_.begin());
      std::memcpy(last_md5_text_, md5_text.data(), kMd5Chars);
      last_id_ = id;
      have_last_ = true;
    }
    if (!lru_.empty() && lru_.front().id == id) {
      ++stats_.cache_hits;
      return lru_.front();
    }
    if (const auto it = cached_.find(id); it != cached_.end()) {
      ++stats_.cache_hits;
      lru_.splice(lru_.begin(), lru_, it->second);
      return lru_.front();
    }
    ++stats_.cache_misses;
    // Reuse the buffers of an evicted line when there is one.
    if (spare_.empty()) spare_.emplace_back();
    lru_.splice(lru_.begin(), spare_, spare_.begin());
    CommonLine& c = lru_.front();
    try {
      load(id, origin.line, c);
    } catch (...) {
      spare_.splice(spare_.begin(), lru_, lru_.begin());
      throw;
    }
    cached_[id] = lru_.begin();
    cache_bytes_ += c.bytes();
    // Keep at least the line just loaded, whatever the budget.
    while (cache_bytes_ > cache_budget_ && lru_.size() > 1) {
      auto victim = std::prev(lru_.end());
      cache_bytes_ -= victim->bytes();
      cached_.erase(victim->id);
      ++stats_.cache_evictions;
      if (spare_.empty()) {
        spare_.splice(spare_.begin(), lru_, victim);
      } else {
        lru_.erase(victim);
      }
    }
    stats_.cache_peak_bytes = std::max<uint64_t>(stats_.cache_peak_bytes, cache_bytes_);
    return c;
  }

  void load(uint32_t id, uint64_t skeleton_line, CommonLine& c) {
    const IndexEntry& e = index_[id];
    line_buffer_.resize(e.length);
    common_->read(e.offset, e.length, line_buffer_.data());
    const Origin origin{&common_path_, e.line, skeleton_line};
    std::string_view cells[kCommonColumnCount];
    split_columns(std::string_view(line_buffer_.data(), e.length), kCommonColumnCount,
                  cells);  // checked when indexing
    common_values_.clear();
    // Unread fields count once per common line, not again when an evicted line comes back.
    parse_list(cells[1], cells[2], origin, !common_counted_[id], common_values_);
    common_counted_[id] = true;

    // Keep only the bytes the tokens view: with the usual single-valued fields that is a few
    // hundred bytes of a line of several KB (the histories), so the cache holds ~20x more lines.
    size_t text_bytes = 0;
    size_t num_tokens = 0;
    for (uint32_t s : common_values_.touched) {
      for (const Token& t : common_values_.values[s]) text_bytes += t.text.size();
      num_tokens += common_values_.values[s].size();
    }
    c.id = id;
    c.line = e.line;
    // A reused line keeps its buffers unless they are far too large for this one.
    if (c.text.capacity() > 2 * text_bytes + 256) std::string().swap(c.text);
    if (c.tokens.capacity() > 2 * num_tokens + 16) std::vector<Token>().swap(c.tokens);
    c.text.resize(text_bytes);
    c.tokens.clear();
    c.tokens.reserve(num_tokens);
    c.ranges.clear();
    char* out = c.text.data();
    for (uint32_t s : common_values_.touched) {
      const auto& v = common_values_.values[s];
      c.ranges.push_back(
          {s, static_cast<uint32_t>(c.tokens.size()), static_cast<uint32_t>(v.size())});
      for (const Token& t : v) {
        std::memcpy(out, t.text.data(), t.text.size());
        c.tokens.push_back({std::string_view(out, t.text.size()), t.weight});
        out += t.text.size();
      }
    }
  }

  [[noreturn]] void fail(const Origin& origin, std::string column, const char* kind,
                         std::string message) const {
    if (origin.skeleton_line > 0) {
      message += " (common features joined to line " + std::to_string(origin.skeleton_line) +
                 " of " + skeleton_.path() + ")";
    }
    throw DataError(*origin.file, origin.line, std::move(column), kind, message);
  }

  /// Parses `list` (declared to hold `count_text` entries) into per-slot values of the
  /// schema's fields. Entries of other fields are checked for structure only, and counted
  /// per field name when `count_unread`.
  void parse_list(std::string_view count_text, std::string_view list, const Origin& origin,
                  bool count_unread, SlotValues& out) {
    uint64_t declared;
    if (!parse_int(count_text, declared)) {
      fail(origin, "feature_num", "feature_num",
           "feature_num '" + printable(count_text, 80) + "' is not a non-negative integer");
    }
    uint64_t n = 0;
    const char* p = list.data();
    const char* end = p + list.size();
    // Entries of one field are usually adjacent (histories): remember the last lookup.
    uint64_t last_key = 0;
    size_t last_size = 0;
    const FieldTable::Field* last_targets = nullptr;
    // An empty list has no entries; otherwise every 0x01 starts one more (a trailing 0x01
    // makes an empty, malformed entry).
    while (!list.empty()) {
      ++n;
      const char* q = p;
      uint64_t key = 0;  // FieldTable::key, packed while scanning
      for (unsigned shift = 0; q < end && !is_separator(*q); ++q, shift += 8) {
        if (shift < 64) key |= uint64_t{static_cast<unsigned char>(*q)} << shift;
      }
      const std::string_view field(p, static_cast<size_t>(q - p));
      if (q == end || *q != '\x02' || field.empty()) bad_entry(origin, n, p, end);
      if (field.size() > 8) key = hash_bytes(field);
      const char* f = ++q;
      while (q < end && !is_separator(*q)) ++q;
      if (q == end || *q != '\x03') bad_entry(origin, n, p, end);
      const std::string_view feature(f, static_cast<size_t>(q - f));
      const char* v = ++q;
      while (q < end && !is_separator(*q)) ++q;
      if (q < end && *q != '\x01') bad_entry(origin, n, p, end);
      const std::string_view value(v, static_cast<size_t>(q - v));
      if (key != last_key || field.size() != last_size || field.size() > 8) {
        last_key = key;
        last_size = field.size();
        last_targets = fields_.find(key, field);
        if (last_targets == nullptr) {
          auto& u = add_unread_field(unread_, field, max_unread_, *origin.file, origin.line);
          fields_.add_unread(field, &u.second);
          last_targets = fields_.find(key, field);
        }
      }
      if (last_targets->unread != nullptr) {
        if (count_unread) ++last_targets->unread->entries;
      } else {
        add(field, feature, value, last_targets->slots, origin, out);
      }
      if (q == end) break;
      p = q + 1;
    }
    if (n != declared) {
      fail(origin, "feature_num", "feature_num",
           "feature_num is " + std::to_string(declared) + " but feature_list has " +
               std::to_string(n) + " entries");
    }
  }

  [[noreturn]] void bad_entry(const Origin& origin, uint64_t n, const char* p,
                              const char* end) const {
    const char* e = static_cast<const char*>(std::memchr(p, '\x01', static_cast<size_t>(end - p)));
    const std::string_view entry(p, static_cast<size_t>((e == nullptr ? end : e) - p));
    fail(origin, "feature_list", "feature_entry",
         "entry " + std::to_string(n) + " '" + printable(entry, 80) +
             "' is not field_id \\x02 feature_id \\x03 value");
  }

  void add(std::string_view field, std::string_view feature, std::string_view value,
           const std::vector<uint32_t>& targets, const Origin& origin, SlotValues& out) const {
    float weight;
    if (!parse_value(value, weight)) {
      fail(origin, std::string(field), "feature_value",
           "value '" + printable(value, 80) + "' of feature '" + printable(feature, 80) +
               "' is not a finite number");
    }
    if (feature.empty()) {
      fail(origin, std::string(field), "feature_entry", "empty feature id");
    }
    for (uint32_t s : targets) {
      const SlotInfo& info = slots_[s];
      auto& v = out.values[s];
      if (v.empty()) {
        out.touched.push_back(s);
      } else if (info.single) {
        fail(origin, std::string(field), "multiple_values",
             "field occurs more than once but is declared single-valued (declare it with "
             "\"multi\": true)");
      }
      if (info.mode == SlotMode::kCellValue) {
        v.push_back({value, 1.0f});
      } else {
        v.push_back({feature, info.weighted ? weight : 1.0f});
      }
    }
  }

  /// Stores values of slot `s` in the row.
  void put(uint32_t s, const Token* tokens, size_t n, RawRow& row) const {
    if (slots_[s].mode == SlotMode::kTokens) {
      auto& v = row.tokens[s];
      v.insert(v.end(), tokens, tokens + n);
    } else {
      row.cell[s] = tokens[0].text;
    }
    row.present[s] = 1;
  }

  LineReader skeleton_;
  uint64_t skeleton_total_;
  std::string common_path_;
  size_t cache_budget_;
  size_t max_unread_;
  std::unique_ptr<RandomAccessFile> common_;
  std::map<std::string, UnreadField> unread_;
  std::vector<bool> common_counted_;  // per index entry: its unread fields were counted

  size_t num_slots_ = 0;
  std::vector<SlotInfo> slots_;
  std::vector<std::string> slot_columns_;
  std::vector<uint32_t> skeleton_slots_[kSkeletonColumnCount];
  FieldTable fields_;

  std::vector<IndexEntry> index_;
  bool have_last_ = false;
  char last_md5_text_[kMd5Chars] = {};
  uint32_t last_id_ = 0;

  // LRU cache of parsed common lines: front = most recent.
  std::list<CommonLine> lru_;
  std::list<CommonLine> spare_;  // at most one evicted line, kept for its buffers
  std::unordered_map<uint32_t, std::list<CommonLine>::iterator> cached_;
  size_t cache_bytes_ = 0;

  SlotValues skeleton_values_;
  SlotValues common_values_;
  std::vector<char> line_buffer_;  // the common line being parsed
  AliccpJoinStats stats_;
};

// ---------------------------------------------------------------------------------------------
AliccpRawReader::AliccpRawReader(const DataConfig& config, const InputFile& file)
    : impl_(std::make_unique<Impl>(config, file)) {}
AliccpRawReader::~AliccpRawReader() = default;
bool AliccpRawReader::next(RawRow& row) { return impl_->next(row); }
uint64_t AliccpRawReader::bytes_read() const { return impl_->bytes_read(); }
uint64_t AliccpRawReader::bytes_total() const { return impl_->bytes_total(); }
const std::string& AliccpRawReader::path() const { return impl_->path(); }
const std::string& AliccpRawReader::common_path() const { return impl_->common_path(); }
const AliccpJoinStats& AliccpRawReader::join_stats() const { return impl_->stats(); }
uint64_t AliccpRawReader::lines_consumed() const { return impl_->lines_consumed(); }
const std::map<std::string, UnreadField>* AliccpRawReader::unread_fields() const {
  return &impl_->unread_fields();
}

std::string aliccp_common_path(const std::string& skeleton_path) {
  const size_t slash = skeleton_path.find_last_of('/');
  const size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  const size_t tag = skeleton_path.find(kSkeletonTag, name_start);
  if (tag == std::string::npos) {
    throw Error(skeleton_path + ": cannot derive the common-features file: the file name does " +
                "not contain '" + kSkeletonTag + "' (set common_path)");
  }
  std::string out = skeleton_path;
  out.replace(tag, sizeof(kSkeletonTag) - 1, kCommonTag);
  return out;
}

std::unique_ptr<Reader> make_aliccp_raw_reader(const DataConfig& config, const InputFile& file) {
  return std::make_unique<AliccpRawReader>(config, file);
}

}  // namespace funnel::data
