#include "graph/variables.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace nabla {

const Tensor* VariableStore::Find(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

absl::Status VariableStore::Add(absl::string_view name, Tensor value) {
  if (!values_.emplace(std::string(name), std::move(value)).second) {
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
  if (it->second.dtype() != value.dtype() ||
      it->second.shape() != value.shape()) {
    return absl::InvalidArgumentError(
        absl::StrCat("variable '", name, "' is ", it->second.DebugString(),
                     "; cannot assign ", value.DebugString()));
  }
  return it->second.CopyFrom(value);
}

std::vector<std::string> VariableStore::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : values_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace nabla
