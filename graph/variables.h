// VariableStore: the values of a session's variables, by node name.
//
// A compiled plan reads and updates these tensors in place, so Assign copies
// into the existing buffer rather than replacing it.
//
// Every variable has a version, a counter that changes whenever its contents
// are written: by Assign (a checkpoint restore, a learning rate set) and by
// every plan step that updates it in place (an optimizer's update; the
// planner bumps it after the step). A kernel that keeps something derived
// from a variable (oneDNN-blocked weights) redoes it only when it changed:
//
//   const uint64_t* version = store.VersionOfBuffer(weights.raw_data());
//   if (version != nullptr && *version == cached_version) { /* reuse */ }
//
// CheckVariableBytes is the budget a session checks before it allocates any
// variable:
//
//   NABLA_RETURN_IF_ERROR(CheckVariableBytes(graph));  // ResourceExhausted
//                                                      // when over the cap

#ifndef NABLA_GRAPH_VARIABLES_H_
#define NABLA_GRAPH_VARIABLES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"
#include "graph/graph.h"

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

  // Version is the counter of variable `name` (see above), or nullptr when
  // there is no such variable. The pointer stays valid as long as the
  // store, so that a kernel can read it on every run without a lookup.
  const uint64_t* Version(absl::string_view name) const;

  // VersionOfBuffer is the counter of the variable whose buffer starts at
  // `data` (a Variable node's output, or a view of it), or nullptr when no
  // variable's does. A linear scan over the variables.
  const uint64_t* VersionOfBuffer(const void* data) const;

  // MarkWritten bumps the version of `name` (nothing if there is none): for
  // whoever writes a variable's buffer other than through Assign.
  void MarkWritten(absl::string_view name);

 private:
  struct Entry {
    Tensor value;
    // Heap-allocated so that its address survives rehashing.
    std::unique_ptr<uint64_t> version = std::make_unique<uint64_t>(0);
  };
  absl::flat_hash_map<std::string, Entry> values_;
};

// VariableBytes is the bytes a Variable node's value takes (elements times
// dtype size), or -1 when its shape is not fully defined or the product
// overflows.
int64_t VariableBytes(const Node& node);

// CheckVariableBytes sums the bytes of every Variable node of `graph` and
// returns ResourceExhausted, naming the variable that crosses the limit,
// its bytes, the total and GraphOptions::max_variable_bytes, when they add
// up to more than graph.options().max_variable_bytes. Allocates nothing.
absl::Status CheckVariableBytes(const Graph& graph);

}  // namespace nabla

#endif  // NABLA_GRAPH_VARIABLES_H_
