// --model, shared by the subcommands that run a model (predict, run).

#include "absl/flags/flag.h"
#include "infer/saved_model.h"
#include "tools/commands.h"

ABSL_FLAG(std::string, model, "",
          "The model: a folder saved by the MNIST example or a GraphDef file "
          "(.pb, .pbtxt). Empty: the lecture model shipped in "
          "data/models/lecture ($NABLA_MODEL_DIR overrides).");

namespace nabla {

absl::StatusOr<std::string> ModelFromFlag() {
  const std::string model = absl::GetFlag(FLAGS_model);
  if (model.empty()) return ShippedModelDir();
  return UserPath(model);
}

}  // namespace nabla
