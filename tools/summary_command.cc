// nabla summary MODEL: each node of the model with its op, output shape,
// parameters and FLOPs, the totals, and the FLOPs of a training step.

#include <cstdio>

#include "core/file.h"
#include "core/status.h"
#include "infer/saved_model.h"
#include "tools/commands.h"
#include "tools/model_summary.h"

namespace nabla {
namespace {

absl::Status RunSummary(const Invocation& invocation) {
  const std::string& model = invocation.args[0];
  NABLA_ASSIGN_OR_RETURN(Graph graph, LoadModelGraph(UserPath(model)));
  std::fputs(FormatModelSummary(SummarizeModel(graph), model).c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace

const Command& SummaryCommand() {
  static const Command* const kCommand = new Command{
      "summary",
      "A table of the model's nodes, shapes, parameters and FLOPs",
      "summary MODEL",
      "Prints each node of the model (what inference runs) with its op, output\n"
      "shape, parameter count and forward FLOPs per example, the totals, and the\n"
      "FLOPs of a training step: counted over the nodes the graph's training step\n"
      "runs when the graph has one (as the MNIST example saves it), estimated\n"
      "otherwise. FLOPs are 2 per multiply-add of convolutions and matrix\n"
      "products.",
      {},
      /*min_args=*/1,
      /*max_args=*/1,
      RunSummary};
  return *kCommand;
}

}  // namespace nabla
