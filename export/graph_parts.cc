#include "export/graph_parts.h"

#include <string>

#include "absl/strings/ascii.h"

namespace nabla {
namespace {

// True when `name` is "<node>_grad", "<node>_grad/...", "<node>_grad_<n>" or
// "<node>_grad_<n>/..." for a node of `graph`: the names autodiff gives
// (GradContext::GradName, made unique by GraphBuilder::UniqueName).
bool HasGradientName(const Graph& graph, absl::string_view name) {
  constexpr absl::string_view kGrad = "_grad";
  for (size_t pos = name.find(kGrad); pos != absl::string_view::npos;
       pos = name.find(kGrad, pos + 1)) {
    size_t end = pos + kGrad.size();
    if (end < name.size() && name[end] == '_') {
      size_t digits = end + 1;
      while (digits < name.size() && absl::ascii_isdigit(name[digits])) ++digits;
      if (digits > end + 1) end = digits;
    }
    if (end != name.size() && name[end] != '/') continue;
    if (pos > 0 && graph.FindNode(name.substr(0, pos)).ok()) return true;
  }
  return false;
}

bool IsSource(const Node& node) {
  return node.op() == "Variable" || node.op() == "Const";
}

}  // namespace

absl::string_view GraphPartName(GraphPart part) {
  switch (part) {
    case GraphPart::kModel:
      return "model";
    case GraphPart::kLoss:
      return "loss";
    case GraphPart::kBackward:
      return "backward";
    case GraphPart::kOptimizer:
      return "optimizer";
  }
  return "model";
}

std::vector<int> GraphParts::Nodes(GraphPart wanted) const {
  std::vector<int> ids;
  for (int id = 0; id < static_cast<int>(part.size()); ++id) {
    if (part[id] == wanted) ids.push_back(id);
  }
  return ids;
}

int GraphParts::Count(GraphPart wanted) const {
  return static_cast<int>(Nodes(wanted).size());
}

std::vector<bool> NeededBy(const Graph& graph, const std::vector<int>& roots) {
  std::vector<bool> needed(graph.num_nodes(), false);
  for (int id : roots) needed[id] = true;
  // Nodes are in topological order: inputs come before their readers.
  for (int id = graph.num_nodes() - 1; id >= 0; --id) {
    if (!needed[id]) continue;
    for (NodeOutput in : graph.node(id).inputs) needed[in.node] = true;
  }
  return needed;
}

GraphParts SplitGraph(const Graph& graph) {
  const int n = graph.num_nodes();
  std::vector<std::vector<int>> readers(n);
  for (int id = 0; id < n; ++id) {
    for (NodeOutput in : graph.node(id).inputs) readers[in.node].push_back(id);
  }
  GraphParts parts;
  parts.part.assign(n, GraphPart::kModel);
  auto is = [&](int id, GraphPart part) { return parts.part[id] == part; };

  // Updates first: they read gradients but are not part of the backward pass.
  // Ops that update state of their own as they run (batch normalization's
  // running statistics, dropout's counter) are the model's.
  for (int id = 0; id < n; ++id) {
    const OpSchema& schema = *graph.node(id).schema;
    if (!schema.written_inputs().empty() && !schema.depends_on_mode()) {
      parts.part[id] = GraphPart::kOptimizer;
    }
  }
  // Values computed from the updates' outputs, such as a learning-rate
  // schedule reading the step count, are the optimizer's too.
  for (int id = 0; id < n; ++id) {
    const Node& node = graph.node(id);
    if (is(id, GraphPart::kOptimizer) || node.schema->is_gradient_op()) continue;
    for (NodeOutput in : node.inputs) {
      if (is(in.node, GraphPart::kOptimizer)) parts.part[id] = GraphPart::kOptimizer;
    }
  }
  for (int id = 0; id < n; ++id) {
    if (is(id, GraphPart::kOptimizer)) continue;
    const Node& node = graph.node(id);
    bool backward = node.schema->is_gradient_op() || HasGradientName(graph, node.name);
    for (NodeOutput in : node.inputs) backward |= is(in.node, GraphPart::kBackward);
    if (backward) parts.part[id] = GraphPart::kBackward;
  }
  // The optimizer's own state: sources read by updates only. Readers come
  // after the nodes they read, so one backward sweep settles chains.
  for (int id = n - 1; id >= 0; --id) {
    if (!is(id, GraphPart::kModel) || !IsSource(graph.node(id)) ||
        readers[id].empty()) {
      continue;
    }
    bool only_updates = true;
    for (int reader : readers[id]) only_updates &= is(reader, GraphPart::kOptimizer);
    if (only_updates) parts.part[id] = GraphPart::kOptimizer;
  }

  // Placeholders from which a forward path reaches a node that reads a
  // variable are the model's inputs; the others hold labels.
  std::vector<bool> reads_variable(n, false);
  for (int id = 0; id < n; ++id) {
    if (!is(id, GraphPart::kModel)) continue;
    for (NodeOutput in : graph.node(id).inputs) {
      if (graph.node(in.node).op() == "Variable") reads_variable[id] = true;
    }
  }
  std::vector<bool> leads_to_weights = reads_variable;
  for (int id = n - 1; id >= 0; --id) {
    if (!is(id, GraphPart::kModel)) continue;
    for (int reader : readers[id]) {
      if (is(reader, GraphPart::kModel) && leads_to_weights[reader]) {
        leads_to_weights[id] = true;
      }
    }
  }
  bool any_input = false;
  for (int id = 0; id < n; ++id) {
    if (graph.node(id).op() == "Placeholder" && leads_to_weights[id]) any_input = true;
  }
  // A graph without weights has no labels to tell apart from inputs.
  if (!any_input) return parts;
  for (int id = 0; id < n; ++id) {
    if (!is(id, GraphPart::kModel)) continue;
    const Node& node = graph.node(id);
    bool loss = node.op() == "Placeholder" && !leads_to_weights[id];
    for (NodeOutput in : node.inputs) loss |= is(in.node, GraphPart::kLoss);
    if (loss) parts.part[id] = GraphPart::kLoss;
  }
  return parts;
}

}  // namespace nabla
