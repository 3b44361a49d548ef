// Graph: nabla's IR, a list of nodes in topological order.
//
// Each node names its op, its inputs (outputs of earlier nodes), its checked
// attributes and the dtype and shape of each of its outputs. Nodes are only
// ever appended, and only after their op's schema has accepted them and their
// shape function has run, so a Graph is always valid. Build graphs with
// GraphBuilder (graph/builder.h); load and save them with graph/graph_def.h.

#ifndef NABLA_GRAPH_GRAPH_H_
#define NABLA_GRAPH_GRAPH_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/attr.h"
#include "graph/op_registry.h"

namespace nabla {

struct Node {
  std::string name;
  const OpSchema* schema = nullptr;
  std::vector<NodeOutput> inputs;
  AttrMap attrs;  // every attribute of the schema, defaults filled in
  std::vector<TensorSpec> outputs;

  const std::string& op() const { return schema->name(); }
};

// kDefaultMaxVariableBytes (4 GiB) and kDefaultMaxConstantBytes (1 GiB) are
// GraphOptions' default caps on a graph's variables and constants.
inline constexpr int64_t kDefaultMaxVariableBytes = int64_t{4} << 30;
inline constexpr int64_t kDefaultMaxConstantBytes = int64_t{1} << 30;

struct GraphOptions {
  // The most elements any one tensor of the graph may have; larger shapes
  // are refused when the node is added or loaded.
  int64_t max_elements = kDefaultMaxElements;
  // The most bytes all Variable nodes together may hold. Checked when a
  // GraphDef is loaded and when a Session is created, before any variable
  // is allocated (see CheckVariableBytes in graph/variables.h).
  int64_t max_variable_bytes = kDefaultMaxVariableBytes;
  // The most bytes of tensor attributes (Const values, Variable initial
  // values) a loaded GraphDef may hold.
  int64_t max_constant_bytes = kDefaultMaxConstantBytes;
};

class Graph {
 public:
  explicit Graph(GraphOptions options = {}) : options_(options) {}

  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int id) const { return nodes_[id]; }
  const std::vector<Node>& nodes() const { return nodes_; }
  const GraphOptions& options() const { return options_; }

  // The id of the node called `name`, or NotFound.
  absl::StatusOr<int> FindNode(absl::string_view name) const;

  // Parses "name" (output 0) or "name:index".
  absl::StatusOr<NodeOutput> FindOutput(absl::string_view ref) const;

  // "name" for output 0, "name:index" otherwise.
  std::string OutputName(NodeOutput output) const;

  const TensorSpec& spec(NodeOutput output) const {
    return nodes_[output.node].outputs[output.index];
  }

  // AddNode checks a node against its op's schema (known op, unique name,
  // inputs that exist with accepted dtypes, attributes present and well
  // typed), runs its shape function and appends it. The error names the op,
  // the node and the input specs. Returns the new node's id.
  absl::StatusOr<int> AddNode(absl::string_view op, absl::string_view name,
                              std::vector<NodeOutput> inputs, AttrMap attrs);

 private:
  GraphOptions options_;
  std::vector<Node> nodes_;
  absl::flat_hash_map<std::string, int> by_name_;
};

// InferOutputs runs `schema`'s shape function on the given inputs and checks
// what it returns against the op's outputs and `max_elements`. Shared by
// Graph::AddNode and the executor, which re-infers with the batch known.
absl::StatusOr<std::vector<TensorSpec>> InferOutputs(
    const OpSchema& schema, absl::string_view node_name, const AttrMap& attrs,
    absl::Span<const TensorSpec> inputs, int64_t max_elements);

// "Conv2D node 'conv1' (inputs f32[?,1,28,28], f32[32,1,5,5])": the prefix
// of every error about a node.
std::string DescribeNode(absl::string_view op, absl::string_view name,
                         absl::Span<const TensorSpec> inputs);

}  // namespace nabla

#endif  // NABLA_GRAPH_GRAPH_H_
