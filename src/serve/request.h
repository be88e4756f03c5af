#pragma once
// A scoring request (docs/serving.md) turned into a model batch exactly as training read its
// rows: every feature value goes through the bundle's RowEncoder (the same validation, the
// same hashing) and BatchBuilder (the same vocabularies, the same numeric normalisation).
//
//   {"user": {field: value}, "context": {field: value},
//    "items": [{"id": ..., field: value, ...}, ...]}
//
// Every feature of the training schema is given exactly once per item: in the item, or in
// "user" or "context", which every item of the request shares (encoded once, broadcast).
// Values: a categorical field takes a string or an integer; a multi-valued one a list of
// them; a weighted one an object {value: weight} (or a list, weights 1); a numeric field a
// number; null is a missing value (id 0, as an empty cell in training). An unseen value maps
// to the out-of-vocabulary id 0 and is counted. Anything else is a RequestError naming the
// field and the item.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/batch.h"
#include "data/row_encoder.h"
#include "model/bundle_file.h"

namespace funnel::serve {

/// A request the server refuses: the HTTP status (4xx) and what is wrong, with its JSON path
/// (e.g. "items[3].205: expected a string or an integer, got 1.5").
class RequestError : public Error {
 public:
  RequestError(int status, const std::string& message) : Error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

/// A request body as JSON; RequestError (400, "malformed JSON: ...") when it is not JSON: a
/// syntax error, or a number beyond a double (nlohmann's out_of_range, not a parse_error).
nlohmann::json parse_request_body(const std::string& body);

struct EncodedRequest {
  /// Per item, its "id" (null when the item has none), echoed in the answer.
  std::vector<nlohmann::json> ids;
  data::Batch batch;
  /// Per sparse field of the bundle's layout: values of the request that mapped to the
  /// out-of-vocabulary id.
  std::vector<uint64_t> oov;
};

class RequestEncoder {
 public:
  /// `bundle` must outlive the encoder. `one_list`: the request's items are one list, in
  /// request order (a model over whole lists): the batch has its list offsets.
  explicit RequestEncoder(const model::BundleMeta& bundle, bool one_list = false);

  /// `request`: the parsed body ("model" is the caller's). Throws RequestError (400) on bad
  /// input and (413) on more than `max_items` items. Thread-safe.
  EncodedRequest encode(const nlohmann::json& request, size_t max_items) const;

  /// The fields a request gives, in schema order: [{"name", "kind": "categorical" | "numeric",
  /// "multi", "weighted"}].
  nlohmann::json fields() const;

 private:
  /// One feature of the schema a request must give.
  struct Field {
    std::string name;
    int slot = 0;  // schema slot (RawRow index)
    bool numeric = false;
    bool multi = false;
    bool weighted = false;
    /// The layout's sparse fields and dense columns read from this feature.
    std::vector<size_t> sparse, dense;
  };

  /// Index into fields_ of feature `name`; throws RequestError naming `path()` otherwise.
  template <typename Path>
  size_t field_index(const std::string& name, const Path& path) const;

  const model::BundleMeta& bundle_;
  data::DataConfig config_;
  data::RowEncoder encoder_;
  std::vector<Field> fields_;
  std::unordered_map<std::string, size_t> field_by_name_;
  size_t num_slots_ = 0;
  bool one_list_ = false;
};

}  // namespace funnel::serve
