#include "sim/cache_writer.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/stopwatch.h"
#include "data/cache_format.h"
#include "data/cache_meta.h"
#include "data/column_writer.h"
#include "data/key_map.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "data/schema.h"
#include "data/vocabulary.h"
#include "sim/output.h"

namespace funnel::sim {
namespace {

/// The converter's key of a number's decimal text (what the CSV cell holds).
uint64_t number_key(uint64_t v) {
  char buf[24];
  char* end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return data::value_key(std::string_view(buf, static_cast<size_t>(end - buf)));
}

/// Inverse of an odd number modulo 2^64 (Newton: each step doubles the correct low bits).
constexpr uint64_t inverse_odd(uint64_t a) {
  uint64_t x = a;  // correct to 3 bits
  for (int i = 0; i < 5; ++i) x *= 2 - a * x;
  return x;
}
static_assert(inverse_odd(0xff51afd7ed558ccdULL) * 0xff51afd7ed558ccdULL == 1);

/// mix64 is a bijection: a cross table keys a value by mix64(value + 1) (nonzero and well
/// mixed, as KeyMap needs) and gets the value back with this.
uint64_t unmix64(uint64_t h) {
  h ^= h >> 33;
  h *= inverse_odd(0xc4ceb9fe1a85ec53ULL);
  h ^= h >> 33;
  h *= inverse_odd(0xff51afd7ed558ccdULL);
  h ^= h >> 33;
  return h;
}

/// One staged row: what the sparse columns of a row follow from.
struct Staged {
  uint32_t user, item, position;
};

constexpr const char* kStaged = "sim_rows.staged";
constexpr size_t kChunk = 1 << 16;  // staged rows mapped to ids at a time
constexpr size_t kAhead = 16;       // prefetch distance of hash-table probes

/// `table` emptied, with room for `expected` keys (reused when it has it: fresh memory is slow
/// to fault in, see the scratch buffers below).
data::KeyMap<uint64_t>& emptied(data::KeyMap<uint64_t>& table, uint64_t expected) {
  if (table.capacity() < expected) {
    table = data::KeyMap<uint64_t>(expected);
  } else {
    table.clear();
  }
  return table;
}

bool is_cross(FieldSource s) {
  return s == FieldSource::kUserCategory || s == FieldSource::kUserShop ||
         s == FieldSource::kUserBrand || s == FieldSource::kUserIntention;
}

}  // namespace

struct CacheWriter::Impl {
  /// One sparse field of the layout and how its ids are found.
  struct Field {
    SimField sim;
    int64_t min_count = 1;
    data::Vocabulary vocab;
    /// Dense sources: the id of every value in [0, range).
    std::vector<uint32_t> ids;
  };
  struct Split {
    bool present = false;
    std::string name, dir;
    std::unique_ptr<data::RowColumnWriter> columns;
    std::unique_ptr<FileWriter> staged;
    data::SplitStats* stats = nullptr;
    data::InputStats* input = nullptr;
  };

  Impl(const Simulator& s, const std::string& cache_dir, const Options& options);
  void add(const SimRow* rows, size_t n);
  data::DatasetStats finish();
  void count(const SimRow& r);
  void build_dense_vocabulary(Field& field);
  void build_cross_vocabulary(Field& field);
  /// Saves field f's vocabulary and records its size.
  void save_vocabulary(size_t f);
  /// The columns of every field without a table (all but the crosses) of one split, in one
  /// pass over its staged rows.
  void map_dense_fields(Split& sp);
  /// The column of cross field f of one split.
  void map_cross_field(size_t f, Split& sp);
  /// Calls fn(rows, n) on the staged rows of a split, a chunk at a time.
  template <typename Fn>
  void for_staged(const Split& sp, Fn&& fn) {
    SequentialFile in(join_path(sp.dir, kStaged));
    for (;;) {
      const size_t m = in.read(staged_chunk.data(), kChunk * sizeof(Staged)) / sizeof(Staged);
      if (m == 0) break;
      fn(staged_chunk.data(), m);
    }
  }
  /// The value of a cross field, numbered as field_value() numbers it for the CSV.
  uint64_t cross_value(const Field& f, uint64_t user, uint64_t item) const {
    const uint32_t cat = item_cat[item];
    switch (f.sim.source) {
      case FieldSource::kUserCategory: return user * c.categories + cat;
      case FieldSource::kUserShop: return user * c.shops + item_shop[item];
      case FieldSource::kUserBrand: return user * c.brands + item_brand[item];
      default: return user * c.intentions + cat_intention[cat];
    }
  }
  uint64_t range(FieldSource s) const {
    switch (s) {
      case FieldSource::kUser: return c.users;
      case FieldSource::kItem: return c.items;
      case FieldSource::kCategory:
      case FieldSource::kHistory: return c.categories;
      case FieldSource::kShop: return c.shops;
      case FieldSource::kIntention: return c.intentions;
      case FieldSource::kBrand: return c.brands;
      case FieldSource::kPosition: return static_cast<uint64_t>(c.positions) + 1;
      default: return 0;  // profile: its cardinality; crosses: hashed
    }
  }

  const Simulator& sim;
  const SimConfig& c;
  data::DataConfig config;
  data::Layout layout;
  data::CacheBuild build;
  Stopwatch watch;
  data::DatasetStats stats;
  std::vector<uint64_t> vocab_sizes, vocab_distinct;  // per field, filled in any order
  /// Training counts of a field by the value's text key (the converter's counts), reused
  /// from field to field (emptied, not remade).
  data::KeyMap<uint64_t> counts{16};
  /// The cross field being written: per value seen in training, keyed by mix64(value + 1),
  /// its count, then its text key, then its id. Reused from field to field.
  data::KeyMap<uint64_t> cross{16};
  /// Calls fn(values, raw, n) on the entries of `cross` in slot order, kChunk at a time
  /// (pointers to their values and the values they count), so that their keys can be
  /// prefetched.
  template <typename Fn>
  void for_cross_chunks(Fn&& fn) {
    size_t n = 0;
    cross.for_each_value([&](uint64_t mixed_value, uint64_t& v) {
      value_ptrs[n] = &v;
      raw_values[n++] = unmix64(mixed_value) - 1;
      if (n == kChunk) {
        fn(value_ptrs.data(), raw_values.data(), n);
        n = 0;
      }
    });
    if (n > 0) fn(value_ptrs.data(), raw_values.data(), n);
  }
  /// Per-chunk scratch, allocated once: fresh memory is slow to fault in on some machines
  /// (about 12 us per 4 KiB page on the VMs we measured), so buffers are reused, not remade.
  std::vector<Staged> staged_chunk = std::vector<Staged>(kChunk);
  std::vector<uint64_t> scratch64 = std::vector<uint64_t>(kChunk);
  std::vector<uint32_t> scratch32 = std::vector<uint32_t>(kChunk * Simulator::kHistoryLength);
  std::vector<float> scratch_weights = std::vector<float>(kChunk * Simulator::kHistoryLength);
  std::vector<uint64_t*> value_ptrs = std::vector<uint64_t*>(kChunk);
  std::vector<uint64_t> raw_values = std::vector<uint64_t>(kChunk);
  std::vector<uint32_t> unseen_at = std::vector<uint32_t>(kChunk);
  std::vector<uint64_t> dense_counts, dense_keys;  // per value of a dense field's range
  Split splits[3];
  std::vector<Field> fields;
  std::vector<std::vector<int>> event_columns;  // event -> indices into SimRow::label_columns
  std::vector<int> aux_event;                   // aux column -> event of its truth
  std::vector<uint8_t> aux_inherent;            // aux column -> 1: the inherent truth
  // The simulator's tables (read per row).
  const uint32_t *item_cat, *item_shop, *item_brand, *cat_intention, *hist_cat = nullptr;
  const uint8_t* hist_count = nullptr;
  const uint16_t* profile;
  size_t profile_stride;
  std::vector<uint64_t> user_key;  // number_key(user): the group column and field 101's keys
  uint64_t last_list = ~uint64_t{0}, last_list_key = 0;
  // Training counts of the dense sources the other fields' counts follow from.
  std::vector<uint64_t> user_count, item_count, position_count;
};

CacheWriter::Impl::Impl(const Simulator& s, const std::string& cache_dir, const Options& options)
    : sim(s),
      c(s.config()),
      config(data::parse_data_config(experiment_config(s).at("data"), "")),
      layout(data::Layout::from_schema(config.schema)),
      build(cache_dir, options.overwrite) {
  FUNNEL_CHECK(c.users <= UINT32_MAX && c.items <= UINT32_MAX,
               "simulate: the cache writer takes at most 2^32 users and items");
  FUNNEL_CHECK(layout.dense.empty(), "simulate: the simulated data has no numeric fields");
  // Sparse fields: those of sim_fields(), in the same order (the config lists them so).
  const std::vector<SimField> sf = sim_fields(c);
  FUNNEL_CHECK(sf.size() == layout.sparse.size(), "simulate: config and fields disagree");
  fields.resize(sf.size());
  for (size_t f = 0; f < sf.size(); ++f) {
    const data::CategoricalSpec& spec = config.schema.categorical[layout.sparse[f].source];
    FUNNEL_CHECK(layout.sparse[f].name == sf[f].name && !layout.sparse[f].bucketized,
                 "simulate: field " << f << " is " << layout.sparse[f].name << ", expected "
                                    << sf[f].name);
    const int64_t buckets = spec.hash_buckets >= 0 ? spec.hash_buckets : config.vocab.hash_buckets;
    FUNNEL_CHECK(buckets == 0, "simulate: the cache writer builds counted vocabularies only");
    fields[f].sim = sf[f];
    fields[f].min_count = spec.min_count >= 0 ? spec.min_count : config.vocab.min_count;
  }
  // Labels: each event is the OR of its columns; columns in the order of SimRow::label_columns.
  std::vector<std::string> columns;
  for (const SimEvent& ev : s.events()) {
    columns.insert(columns.end(), ev.columns.begin(), ev.columns.end());
  }
  for (const data::LabelSpec& l : config.schema.labels) {
    event_columns.emplace_back();
    for (const std::string& col : l.columns) {
      for (size_t k = 0; k < columns.size(); ++k) {
        if (columns[k] == col) event_columns.back().push_back(static_cast<int>(k));
      }
    }
  }
  for (const std::string& a : layout.aux) {
    int event = -1;
    bool inherent = false;
    for (size_t e = 0; e < s.events().size(); ++e) {
      if (s.events()[e].truth_column == a) event = static_cast<int>(e);
      if (s.events()[e].inherent_column == a) event = static_cast<int>(e), inherent = true;
    }
    FUNNEL_CHECK(event >= 0, "simulate: aux column " << a << " is no event's truth");
    aux_event.push_back(event);
    aux_inherent.push_back(inherent);
  }
  FUNNEL_CHECK(layout.num_events() <= 4 && layout.aux.size() <= 8, "simulate: too many events");

  item_cat = s.item_categories();
  item_shop = s.item_shops();
  item_brand = s.item_brands();
  cat_intention = s.category_intentions();
  profile = s.profile(0);
  profile_stride = profile_fields().size();
  if (c.history) {
    hist_cat = s.history_categories(0);
    hist_count = s.history_counts(0);
  }
  user_key.resize(c.users);
  for (uint64_t u = 0; u < c.users; ++u) user_key[u] = number_key(u);
  user_count.assign(c.users, 0);
  item_count.assign(c.items, 0);
  position_count.assign(static_cast<size_t>(c.positions) + 1, 0);

  // The splits the config names (the converter makes a split per named input).
  const bool present[3] = {true, !config.validation.empty(), !config.test.empty()};
  const char* names[3] = {"train", "validation", "test"};
  for (int i = 0; i < 3; ++i) {
    Split& sp = splits[i];
    if (!present[i]) continue;
    sp.present = true;
    sp.name = names[i];
    sp.dir = join_path(build.dir(), sp.name);
    make_dirs(sp.dir);
    sp.columns = std::make_unique<data::RowColumnWriter>(sp.dir, layout);
    sp.staged = std::make_unique<FileWriter>(join_path(sp.dir, kStaged));
    sp.stats = &stats.splits[sp.name];
    sp.stats->init(layout.num_events());
    sp.input = &stats.inputs[sp.name];
    sp.input->init(layout.num_events());
  }
}

void CacheWriter::Impl::add(const SimRow* rows, size_t n) {
  const size_t num_events = layout.num_events();
  const size_t num_aux = aux_event.size();
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      // The per-user and per-item entries of a row miss the cache; the batch says ahead.
      const SimRow& ahead = rows[i + kAhead];
      __builtin_prefetch(&user_key[ahead.user]);
      __builtin_prefetch(&user_count[ahead.user]);
      __builtin_prefetch(&item_count[ahead.item]);
    }
    const SimRow& r = rows[i];
    Split& sp = splits[r.split];
    FUNNEL_CHECK(sp.present, "simulate: a row of a split the config does not name");
    // Labels and the funnel rule, as the row encoder reads them from the CSV.
    uint8_t labels[4];
    for (size_t e = 0; e < num_events; ++e) {
      uint8_t v = 0;
      for (int col : event_columns[e]) v |= r.label_columns[col];
      labels[e] = v;
    }
    const int violation = layout.funnel_violation(labels);
    ++sp.input->lines;
    if (!sp.input->admit(violation, config.keep_funnel_violations)) continue;
    float aux[8];
    for (size_t a = 0; a < num_aux; ++a) {
      aux[a] = aux_inherent[a] ? r.inherent[aux_event[a]] : r.truth[aux_event[a]];
    }
    if (layout.has_list && r.list != last_list) {
      last_list = r.list;
      last_list_key = number_key(r.list);
    }
    static constexpr float kNoDense[1] = {0.0f};  // the layout has no dense fields
    sp.columns->append(labels, kNoDense, user_key[r.user], last_list_key,
                       static_cast<int32_t>(r.position), r.timestamp, aux);
    sp.staged->write_pod(Staged{static_cast<uint32_t>(r.user), static_cast<uint32_t>(r.item),
                                r.position});
    sp.stats->add_row(labels, violation);
    ++sp.input->rows_written;
    if (r.split == SimRow::kTrain) count(r);
  }
}

void CacheWriter::Impl::count(const SimRow& r) {
  // The counts of every other field follow from these (crosses: from the staged rows).
  ++user_count[r.user];
  ++item_count[r.item];
  ++position_count[r.position];
}

void CacheWriter::Impl::build_dense_vocabulary(Field& field) {
  // Counts of every value in the field's range, from the user, item and position counts.
  const FieldSource source = field.sim.source;
  const uint64_t n = source == FieldSource::kProfile
                         ? profile_fields()[field.sim.profile].cardinality
                         : range(source);
  std::vector<uint64_t>& local = dense_counts;
  const std::vector<uint64_t>* cnt = &local;
  switch (source) {
    case FieldSource::kUser: cnt = &user_count; break;
    case FieldSource::kItem: cnt = &item_count; break;
    case FieldSource::kPosition: cnt = &position_count; break;
    default: local.assign(n, 0);
  }
  for (uint64_t u = 0; u < c.users; ++u) {
    if (user_count[u] == 0) continue;
    if (source == FieldSource::kProfile) {
      local[profile[u * profile_stride + field.sim.profile]] += user_count[u];
    } else if (source == FieldSource::kHistory) {
      for (int h = 0; h < Simulator::kHistoryLength; ++h) {
        local[hist_cat[u * Simulator::kHistoryLength + h]] += user_count[u];
      }
    }
  }
  for (uint64_t i = 0; i < c.items; ++i) {
    if (item_count[i] == 0) continue;
    switch (source) {
      case FieldSource::kCategory: local[item_cat[i]] += item_count[i]; break;
      case FieldSource::kShop: local[item_shop[i]] += item_count[i]; break;
      case FieldSource::kBrand: local[item_brand[i]] += item_count[i]; break;
      case FieldSource::kIntention: local[cat_intention[item_cat[i]]] += item_count[i]; break;
      default: break;
    }
  }
  // The vocabulary counts by the value's text key, as the converter does.
  std::vector<uint64_t>& keys = dense_keys;
  keys.resize(n);
  for (uint64_t v = 0; v < n; ++v) {
    keys[v] = source == FieldSource::kUser ? user_key[v] : number_key(v);
  }
  // Small ranges get a small table (from_counts visits every slot); large ones reuse the
  // big one.
  data::KeyMap<uint64_t> small_table(n < 4096 ? n : 16);
  data::KeyMap<uint64_t>& table = n < 4096 ? small_table : emptied(counts, n);
  for (uint64_t v = 0; v < n; ++v) {
    if (v + kAhead < n) table.prefetch(keys[v + kAhead]);
    if ((*cnt)[v] > 0) table[keys[v]] += (*cnt)[v];
  }
  field.vocab = data::Vocabulary::from_counts(table, field.min_count);
  // Every value of the range, seen in training or not, maps as the converter maps its text.
  field.ids.resize(n);
  for (uint64_t v = 0; v < n; ++v) {
    if (v + kAhead < n) field.vocab.prefetch(keys[v + kAhead]);
    field.ids[v] = field.vocab.id(keys[v]);
  }
}

void CacheWriter::Impl::build_cross_vocabulary(Field& field) {
  // Training counts by value, keyed by mix64(value + 1): a cheap key, unlike the text key
  // (formatting and hashing the number), which is computed once per distinct value below.
  // One pass over the staged training rows; the increments are prefetched, since nearly all
  // miss the cache.
  emptied(cross, splits[SimRow::kTrain].stats->rows / 2);
  std::vector<uint64_t>& mixed = scratch64;
  for_staged(splits[SimRow::kTrain], [&](const Staged* rows, size_t m) {
    for (size_t i = 0; i < m; ++i) {
      mixed[i] = mix64(cross_value(field, rows[i].user, rows[i].item) + 1);
    }
    for (size_t i = 0; i < m; ++i) {
      if (i + kAhead < m) cross.prefetch(mixed[i + kAhead]);
      ++cross[mixed[i]];
    }
  });
  // The converter's counts, by text key (each entry's count becomes its text key) ...
  data::KeyMap<uint64_t>& table = emptied(counts, cross.size());
  for_cross_chunks([&](uint64_t* const* values, const uint64_t* raw, size_t n) {
    std::vector<uint64_t>& keys = scratch64;
    for (size_t i = 0; i < n; ++i) keys[i] = number_key(raw[i]);
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) table.prefetch(keys[i + kAhead]);
      table[keys[i]] += *values[i];
      *values[i] = keys[i];
    }
  });
  field.vocab = data::Vocabulary::from_counts(table, field.min_count);
  // ... and then its id.
  for_cross_chunks([&](uint64_t* const* values, const uint64_t*, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) field.vocab.prefetch(*values[i + kAhead]);
      *values[i] = field.vocab.id(*values[i]);
    }
  });
}

void CacheWriter::Impl::save_vocabulary(size_t f) {
  const data::Vocabulary& vocab = fields[f].vocab;
  vocab_sizes[f] = vocab.size();
  vocab_distinct[f] = vocab.distinct_seen();
  vocab.save(join_path(build.dir(), data::cache::vocab_file(static_cast<int>(f))));
}

void CacheWriter::Impl::map_dense_fields(Split& sp) {
  std::vector<size_t> dense;
  std::vector<std::unique_ptr<data::SparseColumnWriter>> out(fields.size());
  for (size_t f = 0; f < fields.size(); ++f) {
    if (is_cross(fields[f].sim.source)) continue;
    dense.push_back(f);
    out[f] = std::make_unique<data::SparseColumnWriter>(sp.dir, layout, f,
                                                        layout.sparse[f].weighted);
  }
  constexpr int L = Simulator::kHistoryLength;
  std::vector<uint32_t>& ids = scratch32;
  std::vector<float>& weights = scratch_weights;
  for_staged(sp, [&](const Staged* rows, size_t m) {
    for (size_t f : dense) {
      const Field& field = fields[f];
      const uint32_t* id = field.ids.data();
      uint32_t* o = ids.data();
      switch (field.sim.source) {
        case FieldSource::kUser:
          for (size_t i = 0; i < m; ++i) o[i] = id[rows[i].user];
          break;
        case FieldSource::kProfile:
          for (size_t i = 0; i < m; ++i) {
            o[i] = id[profile[rows[i].user * profile_stride + field.sim.profile]];
          }
          break;
        case FieldSource::kItem:
          for (size_t i = 0; i < m; ++i) o[i] = id[rows[i].item];
          break;
        case FieldSource::kCategory:
          for (size_t i = 0; i < m; ++i) o[i] = id[item_cat[rows[i].item]];
          break;
        case FieldSource::kShop:
          for (size_t i = 0; i < m; ++i) o[i] = id[item_shop[rows[i].item]];
          break;
        case FieldSource::kIntention:
          for (size_t i = 0; i < m; ++i) o[i] = id[cat_intention[item_cat[rows[i].item]]];
          break;
        case FieldSource::kBrand:
          for (size_t i = 0; i < m; ++i) o[i] = id[item_brand[rows[i].item]];
          break;
        case FieldSource::kPosition:
          for (size_t i = 0; i < m; ++i) o[i] = id[rows[i].position];
          break;
        case FieldSource::kHistory:
          for (size_t i = 0; i < m; ++i) {
            const size_t at = static_cast<size_t>(rows[i].user) * L;
            for (int h = 0; h < L; ++h) {
              o[i * L + h] = id[hist_cat[at + h]];
              weights[i * L + h] = hist_count[at + h];
            }
          }
          out[f]->add_weights(weights.data(), m * L);
          for (size_t i = 0; i < m; ++i) out[f]->add_length(L);
          out[f]->add(o, m * L);
          continue;
        default: break;
      }
      out[f]->add(o, m);
    }
  });
  for (size_t f : dense) sp.stats->fields[f] = out[f]->finish(sp.stats->rows);
}

void CacheWriter::Impl::map_cross_field(size_t f, Split& sp) {
  const Field& field = fields[f];
  data::SparseColumnWriter col(sp.dir, layout, f);
  std::vector<uint64_t>& mixed = scratch64;
  std::vector<uint32_t>& ids = scratch32;
  for_staged(sp, [&](const Staged* rows, size_t m) {
    for (size_t i = 0; i < m; ++i) {
      mixed[i] = mix64(cross_value(field, rows[i].user, rows[i].item) + 1);
    }
    // Values seen in training from the table, the others through the vocabulary (id 0 unless
    // the text key collides with a kept value's, exactly as in the converter).
    size_t unseen = 0;
    for (size_t i = 0; i < m; ++i) {
      if (i + kAhead < m) cross.prefetch(mixed[i + kAhead]);
      const uint64_t* id = cross.find(mixed[i]);
      if (id != nullptr) {
        ids[i] = static_cast<uint32_t>(*id);
      } else {
        unseen_at[unseen++] = static_cast<uint32_t>(i);
      }
    }
    for (size_t j = 0; j < unseen; ++j) {
      const uint32_t i = unseen_at[j];
      ids[i] = field.vocab.id(number_key(unmix64(mixed[i]) - 1));
    }
    col.add(ids.data(), m);
  });
  sp.stats->fields[f] = col.finish(sp.stats->rows);
}

data::DatasetStats CacheWriter::Impl::finish() {
  for (Split& sp : splits) {
    if (!sp.present) continue;
    sp.columns->close();
    sp.staged->close();
    if (sp.stats->rows == 0) {
      throw Error("simulate: the " + sp.name + " split got no rows of " + std::to_string(c.rows) +
                  " impressions (raise rows or the split's fraction)");
    }
  }
  make_dirs(join_path(build.dir(), "vocab"));
  vocab_sizes.assign(fields.size(), 0);
  vocab_distinct.assign(fields.size(), 0);
  for (Split& sp : splits) {
    if (sp.present) sp.stats->fields.resize(fields.size());
  }
  // One counting table for every field, sized once for the largest (the crosses' distinct
  // values are at most half the training rows in practice; the table grows if not).
  uint64_t largest = splits[SimRow::kTrain].stats->rows / 2;
  for (const Field& field : fields) {
    if (!is_cross(field.sim.source) && field.sim.source != FieldSource::kProfile) {
      largest = std::max(largest, range(field.sim.source));
    }
  }
  emptied(counts, largest);
  // Fields without a table first, all in one pass over each split's staged rows; then the
  // crosses one at a time.
  for (size_t f = 0; f < fields.size(); ++f) {
    if (is_cross(fields[f].sim.source)) continue;
    build_dense_vocabulary(fields[f]);
    save_vocabulary(f);
  }
  for (Split& sp : splits) {
    if (sp.present) map_dense_fields(sp);
  }
  for (size_t f = 0; f < fields.size(); ++f) {
    Field& field = fields[f];
    if (is_cross(field.sim.source)) {
      build_cross_vocabulary(field);
      save_vocabulary(f);
      for (Split& sp : splits) {
        if (sp.present) map_cross_field(f, sp);
      }
    }
    field.ids = std::vector<uint32_t>();  // free the field's tables
    field.vocab = data::Vocabulary();
  }
  stats.vocab_sizes = vocab_sizes;
  stats.vocab_distinct_seen = vocab_distinct;
  for (Split& sp : splits) {
    if (sp.present) remove_all(join_path(sp.dir, kStaged));
  }
  // The splits come from one pass: each input's share of its time follows its rows.
  stats.seconds = watch.seconds();
  uint64_t lines = 0;
  for (const Split& sp : splits) lines += sp.present ? sp.input->lines : 0;
  for (Split& sp : splits) {
    if (sp.present && lines > 0) sp.input->seconds = stats.seconds * sp.input->lines / lines;
  }
  for (Split& sp : splits) {
    if (sp.present) data::count_lists(sp.dir, layout, *sp.stats);
  }
  stats.peak_rss_bytes = peak_rss_bytes();
  data::write_cache_meta(build.dir(), config.schema, layout, stats);
  build.commit();
  return stats;
}

CacheWriter::CacheWriter(const Simulator& sim, const std::string& cache_dir, const Options& options)
    : impl_(std::make_unique<Impl>(sim, cache_dir, options)) {}

CacheWriter::~CacheWriter() = default;

void CacheWriter::add(const SimRow* rows, size_t n) { impl_->add(rows, n); }

data::DatasetStats CacheWriter::finish() { return impl_->finish(); }

data::DatasetStats write_cache(const Simulator& sim, const std::string& cache_dir,
                               const CacheWriter::Options& options) {
  CacheWriter writer(sim, cache_dir, options);
  sim.generate_batches([&](const SimRow* rows, size_t n) { writer.add(rows, n); });
  return writer.finish();
}

}  // namespace funnel::sim
