// nabla dot MODEL [--training]: the graph as Graphviz DOT.

#include <cstdio>

#include "absl/flags/flag.h"
#include "core/file.h"
#include "core/status.h"
#include "export/dot.h"
#include "infer/saved_model.h"
#include "tools/commands.h"

ABSL_FLAG(bool, training, false,
          "Also draw the loss and metrics, the backward pass and the optimizer, "
          "each in a cluster of its own.");
ABSL_FLAG(std::string, title, "", "A title drawn above the picture.");

namespace nabla {
namespace {

absl::Status RunDot(const Invocation& invocation) {
  NABLA_ASSIGN_OR_RETURN(Graph graph, LoadModelGraph(UserPath(invocation.args[0])));
  DotOptions options;
  options.training = absl::GetFlag(FLAGS_training);
  options.title = absl::GetFlag(FLAGS_title);
  std::fputs(GraphToDot(graph, options).c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace

const Command& DotCommand() {
  static const Command* const kCommand = new Command{
      "dot",
      "The graph as Graphviz DOT (dot -Tsvg renders it)",
      "dot [--training] [--title=TEXT] MODEL",
      "Writes the model as a Graphviz digraph to stdout: each node with its op\n"
      "and output shapes; placeholders, variables, constants, ops, gradient\n"
      "nodes and optimizer updates in shapes and colours of their own. Without\n"
      "--training only the model that predictions run is drawn.\n\n"
      "  nabla dot --training /tmp/mnist | dot -Tsvg > training.svg",
      {"training", "title"},
      /*min_args=*/1,
      /*max_args=*/1,
      RunDot};
  return *kCommand;
}

}  // namespace nabla
