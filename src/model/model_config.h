#pragma once
// A model's configuration as one typed value: the registry name plus that model's options
// struct (EsmmOptions, AutoHeriOptions, ...) behind one type-erased holder. Parsed once from
// the "model" section through the registry (model.h) and written back with to_json, so no
// command re-parses or patches raw model JSON. No LibTorch here: config code can hold a model
// configuration without parsing ATen.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "core/error.h"
#include "model/feature_embedding_options.h"

namespace funnel::model {

/// One model's options struct (EsmmOptions, AutoHeriOptions, ...) behind one type. Copies
/// share the (immutable) struct.
class ModelOptions {
 public:
  /// Empty.
  ModelOptions() = default;

  /// Holds `options`; T needs `nlohmann::json to_json() const`.
  template <typename T>
  static ModelOptions of(T options) {
    ModelOptions o;
    o.holder_ = std::make_shared<const Holder<T>>(std::move(options));
    return o;
  }

  /// The held struct; throws funnel::Error naming both types when it is not a T or when empty.
  template <typename T>
  const T& as() const {
    if (!holds<T>()) {
      throw Error("model options: asked for " + type_name(typeid(T)) + ", holding " +
                  (empty() ? std::string("nothing") : type_name(holder_->type())));
    }
    return static_cast<const Holder<T>&>(*holder_).value;
  }

  template <typename T>
  bool holds() const {
    return holder_ != nullptr && holder_->type() == typeid(T);
  }

  bool empty() const { return holder_ == nullptr; }

  /// The struct's to_json(); {} when empty.
  nlohmann::json to_json() const;

 private:
  struct Base {
    virtual ~Base() = default;
    virtual const std::type_info& type() const = 0;
    virtual nlohmann::json to_json() const = 0;
  };
  template <typename T>
  struct Holder final : Base {
    explicit Holder(T v) : value(std::move(v)) {}
    const std::type_info& type() const override { return typeid(T); }
    nlohmann::json to_json() const override { return value.to_json(); }
    T value;
  };

  /// Readable (demangled) name of a type, for messages.
  static std::string type_name(const std::type_info& type);

  std::shared_ptr<const Base> holder_;
};

struct ModelConfig {
  /// Registry name (model_names()).
  std::string name;
  /// Parsed by that registry entry.
  ModelOptions options;

  /// {"name": name, ...every option resolved}.
  nlohmann::json to_json() const;
};

/// Parses a "model" section {"name": ..., options...} (name required) through the registry
/// entry of its name; `path` prefixes messages. Unknown names list the registry's names.
ModelConfig parse_model_config(const nlohmann::json& section, const std::string& path = "model");
/// Parses `options` (an object without "name", or null = defaults) as the options of model
/// `name`.
ModelConfig parse_model_options(const std::string& name, const nlohmann::json& options,
                                const std::string& path = "model");
/// The registry's names, in table order.
std::vector<std::string> model_names();
/// Whether `name` is one of model_names().
bool is_model_name(const std::string& name);
/// The models that accept embedding.sharing = per_task (ModelEntry::per_task_embeddings).
std::vector<std::string> per_task_model_names();
/// Throws "<path>: per_task embeddings need a model with one tower per event (esmm, ...);
/// '<name>' ..." unless `name` supports `sharing`.
void check_embedding_sharing(const std::string& name, EmbeddingSharing sharing,
                             const std::string& path = "embedding.sharing");

}  // namespace funnel::model
