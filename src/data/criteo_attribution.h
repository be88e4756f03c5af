#pragma once
// The Criteo attribution data set (criteo_attribution_dataset.tsv, Criteo AI Lab; Diemert,
// Meynet et al., AdKDD 2017): one impression a line, tab-separated, with a header. Shared by
// the reader (data/criteo_attribution_reader.cc) and the simulator's writer (sim/), so that
// both speak exactly one definition of the columns and of the per-item conversion label.

#include <cstdint>

namespace funnel::data::criteo {

/// The file's columns, in the file's order.
// clang-format off
constexpr const char* kColumns[] = {
    "timestamp", "uid",  "campaign", "conversion", "conversion_timestamp", "conversion_id",
    "attribution", "click", "click_pos", "click_nb", "cost", "cpo", "time_since_last_click",
    "cat1", "cat2", "cat3", "cat4", "cat5", "cat6", "cat7", "cat8", "cat9"};
constexpr int kNumColumns = sizeof(kColumns) / sizeof(kColumns[0]);

enum Column : int {
  kTimestamp, kUid, kCampaign, kConversion, kConversionTimestamp, kConversionId, kAttribution,
  kClick, kClickPos, kClickNb, kCost, kCpo, kTimeSinceLastClick, kCat1,
};
// clang-format on

/// Columns the reader derives (a schema names them like file columns).
/// The list key: uid and conversion_id together ("uid/conversion_id"), HEROES §5.1 after Ren
/// et al. (CIKM'18): one list per conversion sequence, and one per user for the impressions
/// that led to none.
constexpr char kListIdColumn[] = "list_id";
/// The per-item conversion label (FormatSpec::criteo_conversion picks its definition).
constexpr char kItemConversionColumn[] = "post_click_conversion";

/// Which impressions of a converting sequence carry the item-level conversion. The file's own
/// `conversion` is 1 on every impression of the sequence, clicked or not, so it is no
/// post-click label by itself.
enum class Conversion {
  /// The last click before the conversion: click, conversion, click_pos == click_nb - 1
  /// (last-click attribution, the industry's and Criteo's own convention). The default.
  kLastClick,
  /// Every click of a sequence whose conversion Criteo was credited with: click, attribution.
  kAttributed,
  /// Every click of a converting sequence: click, conversion.
  kAnyClick,
};

/// Columns that encode the conversion outcome (conversion, its time and id, the attribution,
/// the click's rank before the conversion, the cost per order): never features.
constexpr int kOutcomeColumns[] = {kConversion, kConversionTimestamp, kConversionId,
                                   kAttribution, kClickPos, kClickNb, kCpo};

/// The item-level conversion of one impression (all arguments as in the file).
inline bool item_conversion(Conversion mode, int click, int conversion, int attribution,
                            int64_t click_pos, int64_t click_nb) {
  if (click != 1) return false;
  switch (mode) {
    case Conversion::kLastClick: return conversion == 1 && click_pos == click_nb - 1;
    case Conversion::kAttributed: return attribution == 1;
    case Conversion::kAnyClick: return conversion == 1;
  }
  return false;
}

}  // namespace funnel::data::criteo
