#include "tools/model_summary.h"

#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "export/graph_parts.h"

namespace nabla {
namespace {

// A dimension of one example: the unknown batch counts as 1.
double Dim(int64_t d) { return d < 0 ? 1.0 : static_cast<double>(d); }

double Elements(const Shape& shape) {
  double n = 1;
  for (int i = 0; i < shape.rank(); ++i) n *= Dim(shape[i]);
  return n;
}

int64_t Saturate(double flops) {
  constexpr double kMax = static_cast<double>(std::numeric_limits<int64_t>::max());
  return flops >= kMax ? std::numeric_limits<int64_t>::max()
                       : static_cast<int64_t>(flops);
}

// Filter elements per output channel: Cin * Kh * Kw of [Cout, Cin, Kh, Kw].
double FilterFanIn(const Shape& filters) {
  return filters.rank() == 4 ? Dim(filters[1]) * Dim(filters[2]) * Dim(filters[3]) : 0;
}

// "1,087,106".
std::string Grouped(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// "9.54 M", "832", "1.23 G".
std::string Scaled(int64_t n) {
  if (n >= 1000000000) return absl::StrFormat("%.2f G", n / 1e9);
  if (n >= 1000000) return absl::StrFormat("%.2f M", n / 1e6);
  if (n >= 1000) return absl::StrFormat("%.2f k", n / 1e3);
  return absl::StrCat(n, " ");
}

bool IsSource(const Node& node) {
  return node.op() == "Variable" || node.op() == "Const";
}

}  // namespace

int64_t NodeFlops(const Graph& graph, int id) {
  const Node& node = graph.node(id);
  const std::string& op = node.op();
  auto in = [&](int i) -> const Shape& { return graph.spec(node.inputs[i]).shape; };
  const Shape& out = node.outputs[0].shape;
  // out [N, Cout, Ho, Wo] times Cin*Kh*Kw multiply-adds per output.
  if (op == "Conv2D" || op == "Conv2DWithBias" || op == "QuantizedConv2D") {
    return Saturate(2 * Elements(out) * FilterFanIn(in(1)));
  }
  // dx from dy [N, Cout, Ho, Wo]: the forward's products, transposed.
  if (op == "Conv2DBackpropInput") {
    return Saturate(2 * Elements(in(0)) * FilterFanIn(in(1)));
  }
  // d_filters [Cout, Cin, Kh, Kw] summed over dy's N * Ho * Wo positions.
  if (op == "Conv2DBackpropFilter") {
    const Shape& dy = in(1);
    double positions = dy.rank() == 4 ? Dim(dy[0]) * Dim(dy[2]) * Dim(dy[3]) : 0;
    return Saturate(2 * Elements(out) * positions);
  }
  // x [N, K] times w [K, M].
  if (op == "Dense") return Saturate(2 * Elements(out) * Dim(in(0)[1]));
  // u8 x [N, K] or [N, C, H, W] read flat, times w [K, M].
  if (op == "QuantizedDense") {
    return Saturate(2 * Elements(out) * Dim(in(1)[0]));
  }
  if (op == "MatMul") {
    const Shape& a = in(0);
    double k = node.attrs.at("transpose_a").b() ? Dim(a[0]) : Dim(a[1]);
    return Saturate(2 * Elements(out) * k);
  }
  return 0;
}

ModelSummary SummarizeModel(const Graph& graph) {
  const int n = graph.num_nodes();
  GraphParts parts = SplitGraph(graph);
  auto part = [&](int id) { return parts.part[id]; };
  ModelSummary summary;

  std::vector<bool> counted(n, false);
  for (int id : parts.Nodes(GraphPart::kModel)) {
    const Node& node = graph.node(id);
    if (IsSource(node)) continue;
    LayerSummary layer;
    layer.name = node.name;
    layer.op = node.op();
    layer.outputs = node.outputs;
    for (NodeOutput input : node.inputs) {
      const Node& source = graph.node(input.node);
      if (source.op() != "Variable" || counted[input.node]) continue;
      counted[input.node] = true;
      const TensorSpec& spec = source.outputs[0];
      layer.params += spec.shape.NumElements();
      summary.param_bytes += spec.shape.NumElements() * DTypeSize(spec.dtype);
      ++summary.variables;
    }
    layer.flops = NodeFlops(graph, id);
    summary.params += layer.params;
    summary.forward_flops += layer.flops;
    summary.layers.push_back(std::move(layer));
  }

  for (int id : parts.Nodes(GraphPart::kLoss)) {
    const Node& node = graph.node(id);
    if (node.op() == "Placeholder") {
      summary.label_inputs.push_back(
          absl::StrCat(node.name, " ", node.outputs[0].ToString()));
    } else if (!IsSource(node)) {
      summary.losses.push_back(absl::StrCat(node.name, " (", node.op(), ")"));
    }
  }

  std::vector<int> updates;
  for (int id : parts.Nodes(GraphPart::kOptimizer)) {
    const Node& node = graph.node(id);
    if (!node.schema->written_inputs().empty()) updates.push_back(id);
    if (node.op() == "Variable") {
      ++summary.optimizer_variables;
      summary.optimizer_state_elements += node.outputs[0].shape.NumElements();
    }
  }
  summary.optimizer_updates = static_cast<int>(updates.size());
  summary.backward_nodes = parts.Count(GraphPart::kBackward);

  if (!updates.empty()) {
    summary.training_source = TrainingFlopsSource::kOptimizerUpdates;
    std::vector<bool> needed = NeededBy(graph, updates);
    for (int id = 0; id < n; ++id) {
      if (needed[id]) summary.training_flops += NodeFlops(graph, id);
    }
    // Autodiff adds gradients that a fused rule then supersedes (a plain
    // pooling gradient beside the masked one a ReLU uses, the first
    // layer's input gradient): in the graph, but pruned from every plan.
    summary.backward_nodes = 0;
    for (int id : parts.Nodes(GraphPart::kBackward)) {
      if (needed[id]) {
        ++summary.backward_nodes;
      } else {
        ++summary.unused_backward_nodes;
      }
    }
  } else if (summary.backward_nodes > 0) {
    summary.training_source = TrainingFlopsSource::kGradientNodes;
    for (int id = 0; id < n; ++id) {
      if (part(id) != GraphPart::kOptimizer) {
        summary.training_flops += NodeFlops(graph, id);
      }
    }
  } else {
    summary.training_source = TrainingFlopsSource::kEstimated;
    // Which values depend on a variable, and so need a gradient.
    std::vector<bool> trainable(n, false);
    for (int id = 0; id < n; ++id) {
      const Node& node = graph.node(id);
      trainable[id] = node.op() == "Variable";
      for (NodeOutput input : node.inputs) trainable[id] = trainable[id] || trainable[input.node];
    }
    for (int id = 0; id < n; ++id) {
      if (part(id) == GraphPart::kOptimizer) continue;
      int64_t flops = NodeFlops(graph, id);
      if (flops == 0) continue;
      const Node& node = graph.node(id);
      int gradients = 0;
      for (size_t i = 0; i < node.inputs.size() && i < 2; ++i) {
        gradients += trainable[node.inputs[i].node] ? 1 : 0;
      }
      summary.training_flops += flops * (1 + gradients);
    }
  }
  return summary;
}

std::string FormatModelSummary(const ModelSummary& summary,
                               absl::string_view title) {
  struct Row {
    std::string node, shape, params, flops;
  };
  std::vector<Row> rows;
  for (const LayerSummary& layer : summary.layers) {
    for (size_t i = 0; i < layer.outputs.size(); ++i) {
      Row row;
      if (i == 0) {
        row.node = absl::StrCat(layer.name, " (", layer.op, ")");
        row.params = Grouped(layer.params);
        row.flops = Grouped(layer.flops);
      }
      row.shape = layer.outputs.size() == 1
                      ? layer.outputs[i].ToString()
                      : absl::StrCat(i, ": ", layer.outputs[i].ToString());
      rows.push_back(std::move(row));
    }
  }
  Row header{"Node (op)", "Output shape", "Param #", "FLOPs"};
  size_t w_node = header.node.size(), w_shape = header.shape.size();
  size_t w_params = header.params.size(), w_flops = header.flops.size();
  for (const Row& row : rows) {
    w_node = std::max(w_node, row.node.size());
    w_shape = std::max(w_shape, row.shape.size());
    w_params = std::max(w_params, row.params.size());
    w_flops = std::max(w_flops, row.flops.size());
  }
  auto line = [&](const Row& row) {
    std::string text = absl::StrFormat("%-*s  %-*s  %*s  %*s", w_node, row.node,
                                       w_shape, row.shape, w_params, row.params,
                                       w_flops, row.flops);
    absl::StripTrailingAsciiWhitespace(&text);
    return text + "\n";
  };
  const size_t width = w_node + w_shape + w_params + w_flops + 6;

  std::string out = absl::StrCat("Model: ", title, "\n", std::string(width, '_'), "\n");
  out += line(header);
  out += std::string(width, '=') + "\n";
  for (const Row& row : rows) out += line(row);
  out += std::string(width, '=') + "\n";

  absl::StrAppendFormat(&out, "Total params: %s (%s) in %d variables\n",
                        Grouped(summary.params),
                        absl::StrFormat("%.2f MiB", summary.param_bytes / 1048576.0),
                        summary.variables);
  if (!summary.losses.empty()) {
    absl::StrAppend(&out, "Loss and metrics: ", absl::StrJoin(summary.losses, ", "));
    if (!summary.label_inputs.empty()) {
      absl::StrAppend(&out, ", on ", absl::StrJoin(summary.label_inputs, ", "));
    }
    out += "\n";
  }
  absl::StrAppendFormat(&out, "Forward pass: %sFLOP per example (%s)\n",
                        Scaled(summary.forward_flops), Grouped(summary.forward_flops));
  const char* source = "";
  switch (summary.training_source) {
    case TrainingFlopsSource::kOptimizerUpdates:
      source = "counted over the nodes a training step of the graph runs";
      break;
    case TrainingFlopsSource::kGradientNodes:
      source = "counted over the graph's forward and gradient nodes";
      break;
    case TrainingFlopsSource::kEstimated:
      source =
          "estimated: the graph has no backward pass; each convolution and "
          "matrix product\n  counted again for each of its inputs that needs a "
          "gradient";
      break;
  }
  absl::StrAppendFormat(&out, "Training step: %sFLOP per example (%s),\n  %s\n",
                        Scaled(summary.training_flops),
                        Grouped(summary.training_flops), source);
  if (summary.backward_nodes > 0 || summary.optimizer_updates > 0) {
    absl::StrAppendFormat(
        &out,
        "Training graph: %d backward nodes%s, %d optimizer updates, %d "
        "optimizer variables (%s elements)\n",
        summary.backward_nodes,
        summary.unused_backward_nodes == 0
            ? ""
            : absl::StrCat(" (and ", summary.unused_backward_nodes,
                           " that no update needs)"),
        summary.optimizer_updates, summary.optimizer_variables,
        Grouped(summary.optimizer_state_elements));
  }
  out +=
      "FLOPs: 2 per multiply-add of convolutions and matrix products, unknown "
      "batch sizes taken\n  as 1; element-wise ops, pooling, softmax and "
      "optimizer updates are not counted.\n";
  return out;
}

}  // namespace nabla
