// Fuzz target: the body of POST /v1/score, as the server reads it: JSON text (not JSON is the
// server's 400), then the request encoder of a model with every kind of field
// (single, multi-valued and weighted categoricals, a normalised and a bucketised numeric),
// then the ids echoed in the answer. Only RequestError (an HTTP 4xx) may come out: any other
// exception is the server's 500, a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json_text.h"
#include "data/key_map.h"
#include "data/layout.h"
#include "data/row_encoder.h"
#include "model/bundle_file.h"
#include "serve/request.h"
#include "fuzz_input.h"

using namespace funnel;

namespace {

model::BundleMeta make_meta() {
  model::BundleMeta m;
  m.data = data::parse_data_config(nlohmann::json::parse(R"({
      "labels": ["click", "buy"],
      "categorical": ["user", "item", {"name": "hist", "multi": true, "weighted": true},
                      {"name": "tags", "multi": true}],
      "numeric": ["price", {"name": "age", "transform": "bucketize", "boundaries": [10, 30]}],
      "group": "user"})"),
                                   "");
  m.schema = m.data.schema;
  m.layout = data::Layout::from_schema(m.schema);
  for (const data::SparseField& f : m.layout.sparse) {
    if (f.bucketized) {
      m.vocabs.push_back(data::Vocabulary::identity(
          m.schema.numeric[static_cast<size_t>(f.source)].boundaries.size() + 2));
    } else {
      data::KeyMap<uint64_t> counts;
      for (int i = 0; i < 8; ++i) counts[data::value_key(f.name.substr(0, 1) + std::to_string(i))] = 1;
      m.vocabs.push_back(data::Vocabulary::from_counts(counts, 1));
    }
    m.vocab_sizes.push_back(m.vocabs.back().size());
  }
  m.dense_mean.assign(m.layout.dense.size(), 1.0f);
  m.dense_std.assign(m.layout.dense.size(), 2.0f);
  m.funnel = model::FunnelSpec::from_layout(m.layout);
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const model::BundleMeta meta = make_meta();
  static const serve::RequestEncoder encoder(meta);
  try {
    const nlohmann::json body =
        serve::parse_request_body(std::string(reinterpret_cast<const char*>(data), size));
    const serve::EncodedRequest r = encoder.encode(body, 64);
    if (r.ids.size() != r.batch.size) std::abort();
    for (const auto& id : r.ids) (void)json_text(id);
  } catch (const serve::RequestError& e) {
    fuzz::caught(e);
    if (e.status() < 400 || e.status() > 499) std::abort();
  }
  return 0;
}
