#pragma once
// File names of the binary cache (one folder per split, one file per column), shared by the
// writer and the reader. Layout on disk:
//   CACHE/meta.json                 schema, layout, vocabulary sizes, numeric stats, stats
//   CACHE/vocab/f<i>.vocab          vocabulary of sparse field i
//   CACHE/<split>/labels.u8         rows x events, row-major
//   CACHE/<split>/f<i>.ids.u32      ids of sparse field i (one per row when single-valued)
//   CACHE/<split>/f<i>.off.u64      rows + 1 offsets into ids (multi-valued fields)
//   CACHE/<split>/f<i>.w.f32        one weight per id (weighted fields)
//   CACHE/<split>/dense.f32         rows x dense fields, raw values (NaN = missing)
//   CACHE/<split>/group.u64 list.u64 position.i32 timestamp.i64 aux.f32
// All numbers little-endian, as the machine writes them.

#include <string>

namespace funnel::data::cache {

constexpr const char* kFormatName = "funnel-cache";
constexpr int kFormatVersion = 1;

inline std::string field_file(int field, const char* suffix) {
  return "f" + std::to_string(field) + suffix;
}
inline std::string vocab_file(int field) { return "vocab/f" + std::to_string(field) + ".vocab"; }

constexpr const char* kLabels = "labels.u8";
constexpr const char* kIds = ".ids.u32";
constexpr const char* kOffsets = ".off.u64";
constexpr const char* kWeights = ".w.f32";
constexpr const char* kStagedKeys = ".keys.u64";   // before the vocabulary exists
constexpr const char* kStagedLengths = ".len.u32";
constexpr const char* kDense = "dense.f32";
constexpr const char* kGroup = "group.u64";
constexpr const char* kList = "list.u64";
constexpr const char* kPosition = "position.i32";
constexpr const char* kTimestamp = "timestamp.i64";
constexpr const char* kAux = "aux.f32";

}  // namespace funnel::data::cache
