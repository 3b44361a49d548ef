// Flags shared by the subcommands that run a model (predict, run).

#include "absl/flags/flag.h"
#include "core/dnnl_context.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/saved_model.h"
#include "tools/commands.h"

ABSL_FLAG(std::string, model, "",
          "The model: a folder saved by the MNIST example or a GraphDef file "
          "(.pb, .pbtxt). Empty: the lecture model shipped in "
          "data/models/lecture ($NABLA_MODEL_DIR overrides).");
ABSL_FLAG(int, threads, 0,
          "Threads for oneDNN and nabla (0: NABLA_NUM_THREADS, OMP_NUM_THREADS, "
          "or every core).");

namespace nabla {

absl::StatusOr<std::string> ModelFromFlag() {
  const std::string model = absl::GetFlag(FLAGS_model);
  if (model.empty()) return ShippedModelDir();
  return UserPath(model);
}

absl::Status ApplyThreadsFlag() {
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) return UsageError("--threads must be 0 (automatic) or positive");
  return Annotate(SetNumThreads(threads), "--threads");
}

}  // namespace nabla
