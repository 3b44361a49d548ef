// Which part of a saved training graph each node belongs to: the model that
// inference runs, the loss and metrics on top of it, the backward pass that
// autodiff added, and the optimizer's updates and state. A graph saved by
// the MNIST example holds all four; the DOT writer draws them apart, the
// model summary counts parameters and FLOPs of each, and exporters keep only
// the model.
//
//   GraphParts parts = SplitGraph(graph);
//   for (int id : parts.Nodes(GraphPart::kModel)) ...
//
// The split reads what the graph records, nothing else:
//   - optimizer: nodes that update a variable in place (ApplyAdam,
//     AssignAdd; not BatchNorm or Dropout, whose updates of their own state
//     are the model's: OpSchema::DependsOnMode), nodes computed from their outputs (a learning-rate
//     schedule reading the step count), and the variables and constants only
//     they read (slots, the learning rate, the step count);
//   - backward: gradient ops (OpSchema::IsGradientOp), nodes named as
//     autodiff names them ("<node>_grad", "<node>_grad/<suffix>",
//     "<node>_grad_<n>/..." for an existing <node>), and whatever
//     else reads a backward value;
//   - loss: the label placeholders (placeholders from which no path leads
//     to a node reading a variable) and every other node that reads them;
//   - model: the rest, placeholders and variables of the model included.

#ifndef NABLA_EXPORT_GRAPH_PARTS_H_
#define NABLA_EXPORT_GRAPH_PARTS_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace nabla {

// GraphPart is the role of a node in a training graph.
enum class GraphPart { kModel, kLoss, kBackward, kOptimizer };

// GraphPartName returns "model", "loss", "backward" or "optimizer".
absl::string_view GraphPartName(GraphPart part);

// GraphParts is the part of every node of one graph.
struct GraphParts {
  // Indexed by node id.
  std::vector<GraphPart> part;

  // Nodes returns the ids of the nodes in `part`, in graph order.
  std::vector<int> Nodes(GraphPart part) const;
  // Count returns how many nodes are in `part`.
  int Count(GraphPart part) const;
};

// SplitGraph assigns every node of `graph` to its part (see above).
GraphParts SplitGraph(const Graph& graph);

// NeededBy returns, indexed by node id, whether the node is one of `roots`
// or an input (direct or not) of one: what a plan fetching `roots` runs.
std::vector<bool> NeededBy(const Graph& graph, const std::vector<int>& roots);

}  // namespace nabla

#endif  // NABLA_EXPORT_GRAPH_PARTS_H_
