// A model summary in the spirit of Keras's model.summary(): each node of the
// model with its op, output shape, parameter count and forward FLOPs, the
// totals, and the FLOPs of a training step. Used by `nabla summary`.
//
//   NABLA_ASSIGN_OR_RETURN(Graph graph, LoadModelGraph("/tmp/mnist"));
//   ModelSummary summary = SummarizeModel(graph);
//   std::fputs(FormatModelSummary(summary, "/tmp/mnist").c_str(), stdout);
//
// FLOPs are counted per example (unknown batch dimensions taken as 1) at 2
// per multiply-add of the convolutions and matrix products (int8 ones
// included), forward and backward; element-wise ops, pooling, softmax and optimizer updates, which
// are under 1% of the lecture model's work, are not counted. The lecture
// model: 9.54 MFLOP forward, 27.71 MFLOP for a training step (its first
// convolution needs no gradient with respect to the images).

#ifndef NABLA_TOOLS_MODEL_SUMMARY_H_
#define NABLA_TOOLS_MODEL_SUMMARY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/op_registry.h"

namespace nabla {

// LayerSummary is one row of the table: a node of the model that is not a
// variable or constant.
struct LayerSummary {
  std::string name;
  std::string op;
  std::vector<TensorSpec> outputs;
  // Elements of the variables the node reads (a variable read by several
  // nodes counts at the first).
  int64_t params = 0;
  int64_t flops = 0;  // per example, forward
};

// TrainingFlopsSource says where ModelSummary::training_flops comes from.
enum class TrainingFlopsSource {
  // The nodes a training step of the graph runs: its optimizer updates and
  // every node they need.
  kOptimizerUpdates,
  // The graph has gradient nodes but no optimizer: the model, its loss and
  // every backward node.
  kGradientNodes,
  // No backward pass in the graph: the forward pass plus, for each
  // convolution and matrix product, one product of the same cost for the
  // gradient of each input that depends on a variable.
  kEstimated,
};

// ModelSummary is what SummarizeModel finds.
struct ModelSummary {
  std::vector<LayerSummary> layers;
  // The loss and metrics on top of the model, "name (Op)", and the
  // placeholders they read beyond the model's ("labels i32[?]").
  std::vector<std::string> losses;
  std::vector<std::string> label_inputs;
  int64_t params = 0;
  int64_t param_bytes = 0;
  int variables = 0;
  int64_t forward_flops = 0;
  int64_t training_flops = 0;
  TrainingFlopsSource training_source = TrainingFlopsSource::kEstimated;
  // Sizes of the parts a training graph adds. With optimizer updates,
  // backward_nodes are the gradient nodes a training step runs and
  // unused_backward_nodes those the graph holds but no update needs (a plan
  // prunes them); without, every gradient node is in backward_nodes.
  int backward_nodes = 0;
  int unused_backward_nodes = 0;
  int optimizer_updates = 0;     // nodes that write a variable
  int optimizer_variables = 0;   // slots, learning rate, step count
  int64_t optimizer_state_elements = 0;
};

// SummarizeModel summarizes `graph`, a model alone or a whole training
// graph (see export/graph_parts.h for how its parts are told apart).
ModelSummary SummarizeModel(const Graph& graph);

// FormatModelSummary lays `summary` out as a table with the totals under
// it; `title` (a file name) heads it.
std::string FormatModelSummary(const ModelSummary& summary,
                               absl::string_view title);

// NodeFlops is the FLOPs of node `id` of `graph` for one example (see the
// counting rule above); 0 for ops that are not counted.
int64_t NodeFlops(const Graph& graph, int id);

}  // namespace nabla

#endif  // NABLA_TOOLS_MODEL_SUMMARY_H_
