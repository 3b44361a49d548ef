#include "graph/variables.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace nabla {

const Tensor* VariableStore::Find(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second.value;
}

absl::Status VariableStore::Add(absl::string_view name, Tensor value) {
  Entry entry;
  entry.value = std::move(value);
  if (!values_.emplace(std::string(name), std::move(entry)).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("variable '", name, "' exists already"));
  }
  return absl::OkStatus();
}

absl::Status VariableStore::Assign(absl::string_view name,
                                   const Tensor& value) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    return absl::NotFoundError(absl::StrCat("no variable '", name, "'"));
  }
  Tensor& current = it->second.value;
  if (current.dtype() != value.dtype() || current.shape() != value.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat("variable '", name, "' is ", current.DebugString(),
                     "; cannot assign ", value.DebugString()));
  }
  ++*it->second.version;
  return current.CopyFrom(value);
}

const uint64_t* VariableStore::Version(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : it->second.version.get();
}

const uint64_t* VariableStore::VersionOfBuffer(const void* data) const {
  if (data == nullptr) return nullptr;
  for (const auto& [name, entry] : values_) {
    if (entry.value.raw_data() == data) return entry.version.get();
  }
  return nullptr;
}

void VariableStore::MarkWritten(absl::string_view name) {
  auto it = values_.find(name);
  if (it != values_.end()) ++*it->second.version;
}

std::vector<std::string> VariableStore::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : values_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

int64_t VariableBytes(const Node& node) {
  if (node.outputs.empty()) return -1;
  const TensorSpec& spec = node.outputs[0];
  if (!spec.shape.IsFullyDefined()) return -1;
  int64_t bytes = static_cast<int64_t>(DTypeSize(spec.dtype));
  for (int64_t dim : spec.shape.dims()) {
    if (dim < 0) return -1;
    if (dim != 0 && bytes > std::numeric_limits<int64_t>::max() / dim) {
      return -1;
    }
    bytes *= dim;
  }
  return bytes;
}

absl::Status CheckVariableBytes(const Graph& graph) {
  const int64_t limit = graph.options().max_variable_bytes;
  int64_t total = 0;
  for (const Node& node : graph.nodes()) {
    if (node.op() != "Variable") continue;
    const int64_t bytes = VariableBytes(node);
    if (bytes < 0 || bytes > limit - total) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Variable node '", node.name, "' (",
          node.outputs.empty() ? std::string("?")
                               : node.outputs[0].ToString(),
          ") needs ", bytes < 0 ? std::string("too many")
                                : absl::StrCat(bytes),
          " bytes, which would bring the graph's variables to more than "
          "the limit of ", limit,
          " bytes (GraphOptions::max_variable_bytes); ", total,
          " bytes are taken by the variables before it"));
    }
    total += bytes;
  }
  return absl::OkStatus();
}

}  // namespace nabla
