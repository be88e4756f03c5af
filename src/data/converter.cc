#include "data/converter.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/stopwatch.h"
#include "core/utf8.h"
#include "data/cache_format.h"
#include "data/cache_meta.h"
#include "data/key_map.h"
#include "data/list_sorter.h"
#include "data/reader.h"
#include "data/row_encoder.h"
#include "data/split_writer.h"
#include "data/vocabulary.h"

namespace funnel::data {
namespace {

/// Running mean / variance (Welford), skipping missing values.
struct Moments {
  uint64_t n = 0;
  double mean = 0, m2 = 0;
  void add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
  }
  double std() const { return n > 1 ? std::sqrt(m2 / static_cast<double>(n - 1)) : 0.0; }
};

class Converter {
 public:
  /// `stream_lists`: ListSorterOptions::stream (off when converting again after a
  /// ListOrderRestart).
  Converter(const DataConfig& config, const std::string& dir, const ConvertOptions& options,
            bool stream_lists)
      : config_(config),
        options_(options),
        stream_lists_(stream_lists),
        dir_(dir),
        encoder_(config),
        layout_(encoder_.layout()) {
    const size_t F = layout_.sparse.size();
    counted_.assign(F, false);
    for (size_t f = 0; f < F; ++f) {
      const auto& sf = layout_.sparse[f];
      if (sf.bucketized) continue;
      const auto& spec = config_.schema.categorical[sf.source];
      const int64_t buckets = spec.hash_buckets >= 0 ? spec.hash_buckets : config_.vocab.hash_buckets;
      counted_[f] = buckets == 0;
    }
    counts_.resize(F);
    moments_.resize(layout_.dense.size());
  }

  DatasetStats run() {
    Stopwatch total;
    const bool ratio_split = config_.validation.empty() && config_.validation_ratio > 0;
    writers_["train"] = std::make_unique<SplitWriter>(join_path(dir_, "train"), layout_);
    if (!config_.validation.empty() || ratio_split) {
      writers_["validation"] = std::make_unique<SplitWriter>(join_path(dir_, "validation"), layout_);
    }
    if (!config_.test.empty()) {
      writers_["test"] = std::make_unique<SplitWriter>(join_path(dir_, "test"), layout_);
    }
    for (const auto& [name, w] : writers_) init_split(name);

    // Each input is read, then its splits' lists are sorted and written (which feeds the
    // vocabulary counts in list order), before the next input: at most two sorters (train
    // and its held-out validation) hold memory at once.
    read_input("train", config_.train, ratio_split);
    finish_split("train", "train");
    if (ratio_split) finish_split("validation", "train");
    if (!config_.validation.empty()) {
      read_input("validation", config_.validation, false);
      finish_split("validation", "validation");
    }
    if (!config_.test.empty()) {
      read_input("test", config_.test, false);
      finish_split("test", "test");
    }

    // Vocabularies from the training split only.
    std::vector<Vocabulary> vocabs;
    for (size_t f = 0; f < layout_.sparse.size(); ++f) {
      const auto& sf = layout_.sparse[f];
      if (sf.bucketized) {
        vocabs.push_back(Vocabulary::identity(
            config_.schema.numeric[sf.source].boundaries.size() + 2));
        stats_.vocab_distinct_seen.push_back(0);
      } else {
        const auto& spec = config_.schema.categorical[sf.source];
        if (counted_[f]) {
          const int64_t min_count = spec.min_count >= 0 ? spec.min_count : config_.vocab.min_count;
          vocabs.push_back(Vocabulary::from_counts(counts_[f], min_count));
          stats_.vocab_distinct_seen.push_back(vocabs.back().distinct_seen());
          counts_[f] = KeyMap<uint64_t>(16);  // free the counting table
        } else {
          const int64_t buckets =
              spec.hash_buckets >= 0 ? spec.hash_buckets : config_.vocab.hash_buckets;
          vocabs.push_back(Vocabulary::hashed(static_cast<uint64_t>(buckets)));
          stats_.vocab_distinct_seen.push_back(0);
        }
      }
      stats_.vocab_sizes.push_back(vocabs.back().size());
    }
    make_dirs(join_path(dir_, "vocab"));
    for (size_t f = 0; f < vocabs.size(); ++f) {
      vocabs[f].save(join_path(dir_, cache::vocab_file(static_cast<int>(f))));
    }
    for (auto& [name, w] : writers_) {
      stats_.splits[name].fields = w->finalize(vocabs);
      count_lists(join_path(dir_, name), layout_, stats_.splits[name]);
    }
    for (const auto& m : moments_) {
      stats_.dense_mean.push_back(static_cast<float>(m.mean));
      stats_.dense_std.push_back(static_cast<float>(m.std()));
    }
    stats_.seconds = total.seconds();
    stats_.peak_rss_bytes = peak_rss_bytes();
    write_cache_meta(dir_, config_.schema, layout_, stats_);
    return stats_;
  }

 private:
  void init_split(const std::string& name) {
    stats_.splits[name].init(layout_.num_events());
    if (!layout_.has_list || !config_.group_lists) return;
    ListSorterOptions so;
    so.memory_bytes = config_.sort_memory_bytes;
    if (config_.validation.empty() && config_.validation_ratio > 0) {
      // The two sorters of the training input share the memory by the expected share of rows.
      const size_t budget = config_.sort_memory_bytes;
      const size_t val =
          std::min(budget / 2,
                   std::max(budget / 16, static_cast<size_t>(budget * config_.validation_ratio)));
      if (name == "validation") so.memory_bytes = val;
      if (name == "train") so.memory_bytes = budget - val;
    }
    so.max_list_length = config_.max_list_length;
    so.keep = config_.list_keep;
    so.progress = options_.progress;
    so.label = "sort " + name;
    so.stream = stream_lists_;
    SplitWriter* const w = writers_.at(name).get();
    SplitStats* const ss = &stats_.splits.at(name);
    const bool learns = name == "train";
    sorters_[name] = std::make_unique<ListSorter>(
        join_path(dir_, name), layout_, so,
        [this, w, ss, learns](const EncodedRow& r) { accept(learns, *w, *ss, r); });
  }

  /// A row goes into a split: learnt from (training split), written, counted.
  void accept(bool learns, SplitWriter& w, SplitStats& ss, const EncodedRow& enc) {
    if (learns) learn(enc);
    w.append(enc);
    ss.add_row(enc.labels.data(), enc.violation);
  }

  /// After the input of split `name` (read from input `input`) is read: sorts its lists when
  /// it has a sorter (writing the rows), and closes the staging files.
  void finish_split(const std::string& name, const std::string& input) {
    SplitStats& ss = stats_.splits.at(name);
    const auto it = sorters_.find(name);
    if (it != sorters_.end()) {
      const ListSortStats sorted = it->second->finish();
      sorters_.erase(it);
      ss.lists_sorted = sorted.reordered;
      ss.list_sort_runs = sorted.runs;
      ss.lists_truncated = sorted.lists_truncated;
      ss.list_rows_dropped = sorted.rows_dropped;
      InputStats& in = stats_.inputs.at(input);
      in.rows_written -= sorted.rows_dropped;
      in.list_rows_dropped += sorted.rows_dropped;
      if (sorted.reordered) {
        log_info("data." + name + ": grouped " + std::to_string(sorted.rows_out) + " rows into " +
                 std::to_string(sorted.lists) + " lists (the input was not in list order; " +
                 std::to_string(sorted.runs) + " sorted runs spilled)");
      }
      if (sorted.lists_truncated > 0) {
        log_info("data." + name + ": " + std::to_string(sorted.lists_truncated) +
                 " lists longer than max_list_length " + std::to_string(config_.max_list_length) +
                 " cut to their " + (config_.list_keep == ListKeep::kFirst ? "first" : "last") +
                 " items, " + std::to_string(sorted.rows_dropped) + " rows dropped");
      }
    }
    writers_.at(name)->close();
  }

  void read_input(const std::string& name, const std::vector<InputFile>& files, bool ratio_split) {
    InputStats& in = stats_.inputs[name];
    in.init(layout_.num_events());
    uint64_t total_bytes = 0;
    for (const auto& f : files) {
      in.files.push_back(f.path);
      total_bytes += file_size(f.path);
    }
    Stopwatch watch;
    Progress::Options po;
    po.label = "convert " + name;
    po.total = total_bytes;
    po.quiet = !options_.progress;
    Progress progress(po);
    uint64_t done_before = 0;
    uint64_t data_rows = 0;  // rows of this input, for the validation hash
    RawRow raw;
    EncodedRow enc;
    // Resolved once: the per-row path touches no map and copies no string.
    SplitWriter* const writer = writers_.at(name).get();
    SplitStats* const split_stats = &stats_.splits.at(name);
    SplitWriter* const val_writer = ratio_split ? writers_.at("validation").get() : nullptr;
    SplitStats* const val_stats = ratio_split ? &stats_.splits.at("validation") : nullptr;
    ListSorter* const sorter = sorters_.count(name) ? sorters_.at(name).get() : nullptr;
    ListSorter* const val_sorter =
        ratio_split && sorters_.count("validation") ? sorters_.at("validation").get() : nullptr;
    const bool learns = name == "train";
    const bool by_list = layout_.has_list;
    for (const auto& f : files) {
      std::unique_ptr<Reader> reader = open_reader(config_, f);
      for (;;) {
        const uint64_t lines_before = reader->lines_consumed();
        try {
          if (!reader->next(raw)) break;
          encoder_.encode(raw, reader->path(), enc);
        } catch (const DataError& e) {
          ++in.lines;
          bad_row(in, e, std::max<uint64_t>(1, reader->lines_consumed() - lines_before));
          continue;
        }
        ++in.lines;
        const uint64_t ordinal = data_rows++;
        if (!in.admit(enc.violation, config_.keep_funnel_violations)) continue;
        // A list goes to one side as a whole: the hash is of its id.
        const bool to_val = ratio_split && to_validation(by_list ? enc.list : ordinal);
        if (ListSorter* const s = to_val ? val_sorter : sorter) {
          s->add(enc);  // written, counted and learnt from in list order, by the sorter
        } else {
          accept(learns && !to_val, to_val ? *val_writer : *writer,
                 to_val ? *val_stats : *split_stats, enc);
        }
        ++in.rows_written;
        progress.update(done_before + reader->bytes_read(), in.lines);
      }
      if (const auto* unread = reader->unread_fields()) {
        for (const auto& [field, u] : *unread) in.unread_fields[printable(field, 200)] += u.entries;
      }
      in.header_lines += reader->non_data_lines();
      in.lines += reader->non_data_lines();
      done_before += reader->bytes_total();
      in.bytes += reader->bytes_total();
    }
    progress.finish();
    in.seconds = watch.seconds();
    if (!in.unread_fields.empty()) {
      log_info("data." + name + ": " + unread_fields_line(in.unread_fields));
    }
    check_bad_fraction(name, in, true);
    if (in.rows_written == 0) {
      throw Error("data." + name + ": no rows left after reading " + std::to_string(in.lines) +
                  " lines (" + std::to_string(in.bad_rows) + " bad, " +
                  std::to_string(in.violations_dropped) + " dropped by the funnel rule)");
    }
  }

  /// `id`: the row's ordinal in its input, or its list id with a list column.
  bool to_validation(uint64_t id) const {
    uint64_t s = config_.split_seed * 0x9E3779B97F4A7C15ULL ^ id;
    return static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53 < config_.validation_ratio;
  }

  /// Training rows feed vocabulary counts and numeric moments.
  void learn(const EncodedRow& enc) {
    // Prefetch every field's slot first: the misses of the large tables then overlap.
    for (size_t f = 0; f < counts_.size(); ++f) {
      if (counted_[f] && !layout_.sparse[f].multi && enc.single[f] != 0) {
        counts_[f].prefetch(enc.single[f]);
      }
    }
    for (size_t f = 0; f < counts_.size(); ++f) {
      if (!counted_[f]) continue;
      if (layout_.sparse[f].multi) {
        for (uint64_t k : enc.keys[f]) ++counts_[f][k];
      } else if (enc.single[f] != 0) {
        ++counts_[f][enc.single[f]];
      }
    }
    for (size_t d = 0; d < moments_.size(); ++d) {
      if (!std::isnan(enc.dense[d])) moments_[d].add(enc.dense[d]);
    }
  }

  /// Counts a bad row that took `lines` physical lines.
  void bad_row(InputStats& in, const DataError& e, uint64_t lines) {
    if (config_.on_bad_row == BadRowPolicy::kFail) {
      throw DataError(e.file(), e.line(), e.column(), e.kind(),
                      e.message() + " (use --on-bad-row skip to count and skip bad rows)");
    }
    ++in.bad_rows;
    in.bad_lines += lines;
    ++in.bad_by_kind[e.kind()];
    if (in.bad_examples.size() < options_.max_bad_examples) {
      in.bad_examples.emplace_back(e.what());
      log_warning(std::string("skipped bad row: ") + e.what());
    }
    // Fail early once a large sample shows the fraction is far too high.
    if (in.lines >= 10000) check_bad_fraction("", in, false);
  }

  void check_bad_fraction(const std::string& name, const InputStats& in, bool final) const {
    if (config_.on_bad_row != BadRowPolicy::kSkip || in.bad_rows == 0) return;
    // By lines, not records: a bad record that swallowed many lines (an unterminated quote)
    // counts as the rows it took.
    const uint64_t lines = in.lines - in.bad_rows + in.bad_lines;
    const double frac = static_cast<double>(in.bad_lines) / static_cast<double>(lines);
    if (frac <= config_.max_bad_fraction) return;
    std::string msg = std::to_string(in.bad_rows) + (in.bad_rows == 1 ? " bad row" : " bad rows");
    if (in.bad_lines > in.bad_rows) msg += " (" + std::to_string(in.bad_lines) + " lines)";
    msg += " in " + std::to_string(lines) + " lines (" + std::to_string(100 * frac) +
           "%), above max_bad_fraction " + std::to_string(config_.max_bad_fraction) +
           (final ? "" : " (checked while reading)") + "; first: ";
    msg += in.bad_examples.empty() ? "?" : in.bad_examples.front();
    throw Error((name.empty() ? std::string("data") : "data." + name) + ": " + msg);
  }

  const DataConfig& config_;
  const ConvertOptions& options_;
  bool stream_lists_;
  std::string dir_;
  RowEncoder encoder_;
  const Layout& layout_;
  std::vector<bool> counted_;
  std::vector<KeyMap<uint64_t>> counts_;
  std::vector<Moments> moments_;
  std::map<std::string, std::unique_ptr<SplitWriter>> writers_;
  std::map<std::string, std::unique_ptr<ListSorter>> sorters_;
  DatasetStats stats_;
};

}  // namespace

DatasetStats convert_to_cache(const DataConfig& config, const std::string& out_dir,
                              const ConvertOptions& options) {
  // Checked here, not at parse time: a config used with an existing cache names no files.
  FUNNEL_CHECK(!config.train.empty(),
               "data.train: at least one file is required (the training split builds the "
               "vocabularies)");
  config.schema.validate();
  for (const bool stream_lists : {true, false}) {
    try {
      CacheBuild build(out_dir, options.overwrite);
      Converter converter(config, build.dir(), options, stream_lists);
      const DatasetStats stats = converter.run();
      build.commit();
      return stats;
    } catch (const ListOrderRestart& e) {
      // Rare: the input was in list order for longer than a streaming buffer, then a list
      // came back. Its rows were written already, so the conversion starts again, sorting
      // from the first row.
      FUNNEL_CHECK(stream_lists, "data: list rows out of order without streaming (a bug)");
      log_info("data: a list comes back at row " + std::to_string(e.row() + 1) +
               " of its split after its rows were written: converting again with the sort");
    }
  }
  throw Error("unreachable");
}

}  // namespace funnel::data
