#include "export/dot.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "export/graph_parts.h"

namespace nabla {
namespace {

// A DOT double-quoted string holding `text`; "\n" in `text` becomes a line
// break of the label.
std::string Quote(absl::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        quoted += "\\\"";
        break;
      case '\\':
        quoted += "\\\\";
        break;
      case '\n':
        quoted += "\\n";
        break;
      default:
        quoted += c;
    }
  }
  quoted += '"';
  return quoted;
}

std::string OutputSpecs(const Node& node) {
  if (node.outputs.size() == 1) return node.outputs[0].ToString();
  std::vector<std::string> lines;
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    lines.push_back(absl::StrCat(i, ": ", node.outputs[i].ToString()));
  }
  return absl::StrJoin(lines, "\n");
}

// The DOT attributes of one node: shape and colour by kind and part.
std::string NodeStyle(const Node& node, GraphPart part) {
  const std::string& op = node.op();
  if (op == "Placeholder") {
    return part == GraphPart::kLoss
               ? "shape=invhouse, style=filled, fillcolor=\"#fff2b3\""
               : "shape=invhouse, style=filled, fillcolor=\"#c7e9c0\"";
  }
  if (op == "Variable") {
    return part == GraphPart::kOptimizer
               ? "shape=cylinder, style=filled, fillcolor=\"#e5dcf2\""
               : "shape=cylinder, style=filled, fillcolor=\"#fdd49e\"";
  }
  if (op == "Const") return "shape=note, style=filled, fillcolor=\"#eeeeee\"";
  switch (part) {
    case GraphPart::kModel:
      return "shape=box, style=\"rounded,filled\", fillcolor=\"#c6dbef\"";
    case GraphPart::kLoss:
      return "shape=box, style=\"rounded,filled\", fillcolor=\"#fff2b3\"";
    case GraphPart::kBackward:
      return "shape=box, style=\"rounded,filled\", fillcolor=\"#fcbba1\"";
    case GraphPart::kOptimizer:
      return "shape=box, style=\"rounded,filled\", fillcolor=\"#bcbddc\"";
  }
  return "shape=box";
}

std::string NodeLabel(const Node& node) {
  // Sources are told by their shape; ops say which op they are.
  if (node.op() == "Placeholder" || node.op() == "Variable" || node.op() == "Const") {
    return absl::StrCat(node.name, "\n", OutputSpecs(node));
  }
  return absl::StrCat(node.name, "\n", node.op(), "\n", OutputSpecs(node));
}

// `note` is an extra line for the label, if not empty.
void AppendNode(const Graph& graph, int id, GraphPart part, absl::string_view note,
                absl::string_view indent, std::string* dot) {
  const Node& node = graph.node(id);
  std::string label = NodeLabel(node);
  if (!note.empty()) absl::StrAppend(&label, "\n(", note, ")");
  absl::StrAppend(dot, indent, "n", id, " [label=", Quote(label), ", ",
                  NodeStyle(node, part), "];\n");
}

struct Cluster {
  GraphPart part;
  const char* name;
  const char* label;
  const char* color;
};

}  // namespace

std::string GraphToDot(const Graph& graph, const DotOptions& options) {
  GraphParts parts = SplitGraph(graph);
  std::vector<bool> drawn(graph.num_nodes(), true);
  if (!options.training) {
    for (int id = 0; id < graph.num_nodes(); ++id) {
      drawn[id] = parts.part[id] == GraphPart::kModel;
    }
  }

  // The optimizer's learning rate and step count feed every update: their
  // edges would cross the whole picture, so, as TensorBoard does with such
  // nodes, they are drawn once with the number of their readers instead.
  std::vector<int> readers(graph.num_nodes(), 0);
  for (const Node& node : graph.nodes()) {
    for (NodeOutput in : node.inputs) ++readers[in.node];
  }
  std::vector<bool> shared(graph.num_nodes(), false);
  for (int id = 0; id < graph.num_nodes(); ++id) {
    shared[id] = parts.part[id] == GraphPart::kOptimizer && readers[id] > 2;
  }

  std::string dot = "digraph nabla {\n";
  if (!options.title.empty()) {
    absl::StrAppend(&dot, "  label=", Quote(options.title),
                    ";\n  labelloc=t;\n  fontsize=18;\n");
  }
  dot +=
      "  rankdir=TB;\n"
      // Ranks across clusters: each update beside its gradient, each
      // gradient beside its layer.
      "  newrank=true;\n"
      "  node [fontname=\"Helvetica\", fontsize=10, margin=\"0.12,0.04\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n";

  for (int id : parts.Nodes(GraphPart::kModel)) {
    AppendNode(graph, id, GraphPart::kModel, "", "  ", &dot);
  }
  if (options.training) {
    const Cluster clusters[] = {
        {GraphPart::kLoss, "cluster_loss", "loss and metrics", "#b8a200"},
        {GraphPart::kBackward, "cluster_backward", "backward pass (autodiff)",
         "#cb4b16"},
        {GraphPart::kOptimizer, "cluster_optimizer", "optimizer", "#54278f"},
    };
    for (const Cluster& cluster : clusters) {
      std::vector<int> ids = parts.Nodes(cluster.part);
      if (ids.empty()) continue;
      absl::StrAppend(&dot, "  subgraph ", cluster.name, " {\n    label=",
                      Quote(cluster.label), ";\n    color=\"", cluster.color,
                      "\";\n    fontcolor=\"", cluster.color,
                      "\";\n    style=\"rounded,dashed\";\n");
      for (int id : ids) {
        AppendNode(graph, id, cluster.part,
                   shared[id] ? absl::StrCat("read by ", readers[id], " updates") : "",
                   "    ", &dot);
      }
      dot += "  }\n";
    }
  }

  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!drawn[id]) continue;
    const Node& node = graph.node(id);
    const std::vector<int>& written = node.schema->written_inputs();
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      NodeOutput in = node.inputs[i];
      if (!drawn[in.node] || shared[in.node]) continue;
      const GraphPart from = parts.part[in.node], to = parts.part[id];
      std::vector<std::string> attrs;
      if (in.index != 0) attrs.push_back(absl::StrCat("label=\":", in.index, "\""));
      bool writes = false;
      for (int w : written) writes |= w == static_cast<int>(i);
      // An update drawn as an edge back into the variable it overwrites
      // would invert the picture; a dashed edge says the same.
      if (writes) attrs.push_back("style=dashed, color=\"#54278f\"");
      // The backward pass is laid out bottom-up, each layer's gradients
      // beside the layer: its own edges are ranked reversed.
      bool reversed = to == GraphPart::kBackward &&
                      (from == GraphPart::kBackward || from == GraphPart::kLoss);
      if (reversed) attrs.push_back("dir=back");
      // The variable an update overwrites would drag the update up to the
      // layer; it belongs beside the variable's gradient.
      if (to == GraphPart::kOptimizer && from == GraphPart::kModel) {
        attrs.push_back("constraint=false");
      }

      if (reversed) {
        absl::StrAppend(&dot, "  n", id, " -> n", in.node);
      } else {
        absl::StrAppend(&dot, "  n", in.node, " -> n", id);
      }
      if (!attrs.empty()) absl::StrAppend(&dot, " [", absl::StrJoin(attrs, ", "), "]");
      dot += ";\n";
    }
  }
  dot += "}\n";
  return dot;
}

}  // namespace nabla
