#include "model/bundle_file.h"

#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"

namespace funnel::model {
namespace {

constexpr char kMagic[8] = {'F', 'N', 'L', 'B', 'U', 'N', 'D', 'L'};
constexpr char kEnd[8] = {'F', 'N', 'L', 'B', 'E', 'N', 'D', '\0'};

void put_section(std::string& out, const std::string& name, const std::string& bytes) {
  const auto n = static_cast<uint32_t>(name.size());
  const uint64_t len = bytes.size();
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += name;
  out.append(reinterpret_cast<const char*>(&len), 8);
  out += bytes;
}

}  // namespace

uint64_t bundle_checksum(std::string_view body) { return hash_bytes(body, 0x42554e444c45ULL); }

void write_bundle(const std::string& path, const BundleContents& c) {
  std::string out(kMagic, 8);
  out.append(reinterpret_cast<const char*>(&kBundleVersion), 4);
  put_section(out, "header", c.header.dump());
  for (size_t i = 0; i < c.vocabs.size(); ++i) {
    put_section(out, "vocab/" + std::to_string(i), c.vocabs[i]);
  }
  put_section(out, "dense", c.dense);
  put_section(out, "sparse", c.sparse);
  const uint64_t sum = bundle_checksum(out);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  out.append(kEnd, 8);
  write_text_file_atomic(path, out);
}

BundleContents read_bundle(const std::string& path) {
  return parse_bundle(read_text_file(path), path);
}

BundleContents parse_bundle(std::string_view bytes, const std::string& path) {
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    throw Error(path + ": not a Funnel model bundle");
  }
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kBundleVersion) {
    throw Error(path + ": bundle format version " + std::to_string(version) +
                ", this build reads version " + std::to_string(kBundleVersion) +
                " (retrain or use a matching funnel)");
  }
  if (bytes.size() < 28 || std::memcmp(bytes.data() + bytes.size() - 8, kEnd, 8) != 0) {
    throw Error(path + ": bundle is truncated (no end marker; was the copy interrupted?)");
  }
  const size_t body = bytes.size() - 16;
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + body, 8);
  if (stored != bundle_checksum(bytes.substr(0, body))) {
    throw Error(path + ": bundle checksum mismatch (the file is corrupted)");
  }
  BundleContents c;
  c.checksum = stored;
  size_t pos = 12;
  bool have_header = false, have_dense = false, have_sparse = false;
  while (pos < body) {
    auto need = [&](uint64_t n) {
      if (body - pos < n) throw Error(path + ": bundle section runs past the end");
    };
    need(4);
    uint32_t name_len;
    std::memcpy(&name_len, bytes.data() + pos, 4);
    pos += 4;
    need(name_len + uint64_t{8});
    const std::string name(bytes.substr(pos, name_len));
    pos += name_len;
    uint64_t len;
    std::memcpy(&len, bytes.data() + pos, 8);
    pos += 8;
    need(len);
    const std::string_view data = bytes.substr(pos, len);
    pos += len;
    if (name == "header") {
      try {
        c.header = nlohmann::json::parse(data);
      } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": bundle header is not valid JSON: " + e.what());
      }
      have_header = true;
    } else if (name.rfind("vocab/", 0) == 0) {
      FUNNEL_CHECK(name == "vocab/" + std::to_string(c.vocabs.size()),
                   path << ": unexpected section " << name);
      c.vocabs.emplace_back(data);
    } else if (name == "dense") {
      c.dense.assign(data);
      have_dense = true;
    } else if (name == "sparse") {
      c.sparse.assign(data);
      have_sparse = true;
    } else {
      throw Error(path + ": unknown bundle section '" + name + "'");
    }
  }
  FUNNEL_CHECK(have_header && have_dense && have_sparse,
               path << ": bundle lacks a header, dense or sparse section");
  return c;
}

BundleMeta read_bundle_meta(const BundleContents& c, const std::string& path) {
  BundleMeta b;
  b.checksum = c.checksum;
  b.header = c.header;
  try {
    b.data = data::parse_data_config(c.header.at("data"), "");
    b.schema = b.data.schema;
    b.layout = data::Layout::from_schema(b.schema);
    b.dense_mean = c.header.at("dense_mean").get<std::vector<float>>();
    b.dense_std = c.header.at("dense_std").get<std::vector<float>>();
    FUNNEL_CHECK(
        b.dense_mean.size() == b.layout.dense.size() && b.dense_std.size() == b.layout.dense.size(),
        "dense statistics do not match the schema");
    b.vocab_sizes = c.header.at("vocab_sizes").get<std::vector<uint64_t>>();
    FUNNEL_CHECK(
        b.vocab_sizes.size() == b.layout.sparse.size() && c.vocabs.size() == b.vocab_sizes.size(),
        "vocabularies do not match the schema");
    for (size_t i = 0; i < c.vocabs.size(); ++i) {
      b.vocabs.push_back(
          data::Vocabulary::deserialize(c.vocabs[i], path + " [vocab/" + std::to_string(i) + "]"));
      FUNNEL_CHECK(b.vocabs.back().size() == b.vocab_sizes[i],
                   "vocab/" << i << " has " << b.vocabs.back().size() << " ids but the header says "
                            << b.vocab_sizes[i]);
    }
    b.funnel = FunnelSpec::from_layout(b.layout);
    b.model = parse_model_options(c.header.at("model").get<std::string>(),
                                  c.header.at("model_options"), "model_options");
    b.embedding_options = FeatureEmbeddingOptions::from_json(c.header.at("embedding"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": malformed bundle header: " + e.what());
  } catch (const Error& e) {
    throw Error(path + ": bundle header: " + e.what());
  }
  return b;
}

}  // namespace funnel::model
