// Graphviz DOT for nabla graphs: each node with its op and output shapes,
// placeholders, variables, constants, model ops, loss and metrics, gradient
// nodes and optimizer updates each drawn in their own shape or colour (see
// export/graph_parts.h for how nodes are told apart).
//
//   std::string dot = GraphToDot(graph);  // the model that inference runs
//   DotOptions options;
//   options.training = true;  // also loss, backward pass and optimizer
//   std::string training = GraphToDot(graph, options);
//   // dot -Tsvg model.dot > model.svg

#ifndef NABLA_EXPORT_DOT_H_
#define NABLA_EXPORT_DOT_H_

#include <string>

#include "graph/graph.h"

namespace nabla {

// DotOptions choose what GraphToDot draws.
struct DotOptions {
  // False: the model only (what predictions run). True: every node, the
  // loss and metrics, the backward pass and the optimizer each in a cluster
  // of its own ("cluster_loss", "cluster_backward", "cluster_optimizer").
  bool training = false;
  // The title drawn above the picture; none if empty.
  std::string title;
};

// GraphToDot returns `graph` as a DOT digraph. Node names and labels are
// quoted and escaped, so any node name is safe.
std::string GraphToDot(const Graph& graph, const DotOptions& options = {});

}  // namespace nabla

#endif  // NABLA_EXPORT_DOT_H_
