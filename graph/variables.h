// VariableStore: the values of a session's variables, by node name.
//
// A compiled plan reads and updates these tensors in place, so Assign copies
// into the existing buffer rather than replacing it.

#ifndef NABLA_GRAPH_VARIABLES_H_
#define NABLA_GRAPH_VARIABLES_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace nabla {

class VariableStore {
 public:
  // nullptr when there is no such variable.
  const Tensor* Find(absl::string_view name) const;

  // Adds a variable; AlreadyExists if the name is taken.
  absl::Status Add(absl::string_view name, Tensor value);

  // Overwrites a variable's contents; its dtype and shape must match.
  absl::Status Assign(absl::string_view name, const Tensor& value);

  // Every variable's name, sorted.
  std::vector<std::string> Names() const;

  int size() const { return static_cast<int>(values_.size()); }

 private:
  absl::flat_hash_map<std::string, Tensor> values_;
};

}  // namespace nabla

#endif  // NABLA_GRAPH_VARIABLES_H_
