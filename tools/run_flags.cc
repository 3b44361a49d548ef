// Flags shared by the subcommands that run a model (predict, run,
// evaluate, quantize).

#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/dnnl_context.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/saved_model.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"

ABSL_FLAG(std::string, model, "",
          "The model: a folder saved by the MNIST example or a GraphDef file "
          "(.pb, .pbtxt). Empty: the lecture model shipped in "
          "data/models/lecture ($NABLA_MODEL_DIR overrides).");
ABSL_FLAG(int, threads, 0,
          "Threads for oneDNN and nabla (0: NABLA_NUM_THREADS, OMP_NUM_THREADS, "
          "or every core).");
ABSL_FLAG(std::string, data_dir, "data/mnist",
          "The MNIST folder (train- and t10k- IDX files, plain or gzipped): "
          "evaluate and quantize score its test set, quantize calibrates on "
          "its training images.");
ABSL_FLAG(bool, json, false,
          "Print one JSON document, for programs, instead of lines of text.");

namespace nabla {

absl::StatusOr<std::string> ModelFromFlag() {
  const std::string model = absl::GetFlag(FLAGS_model);
  if (model.empty()) return ShippedModelDir();
  return UserPath(model);
}

absl::StatusOr<std::vector<std::string>> ModelsFromFlag() {
  const std::string model = absl::GetFlag(FLAGS_model);
  if (!absl::StrContains(model, ',')) {
    NABLA_ASSIGN_OR_RETURN(std::string dir, ModelFromFlag());
    return std::vector<std::string>{dir};
  }
  std::vector<std::string> models;
  for (absl::string_view dir : absl::StrSplit(model, ',')) {
    if (dir.empty()) {
      return UsageError(absl::StrCat("--model '", model, "' names an empty folder"));
    }
    models.push_back(UserPath(std::string(dir)));
  }
  return models;
}

absl::Status ApplyThreadsFlag() {
  const int threads = absl::GetFlag(FLAGS_threads);
  if (threads < 0) return UsageError("--threads must be 0 (automatic) or positive");
  return Annotate(SetNumThreads(threads), "--threads");
}

absl::Status CheckNoBareGraph(const std::vector<std::string>& models) {
  for (const std::string& model : models) {
    struct stat info;
    if (::stat(model.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", model, "' is a bare graph without a checkpoint, so its weights are "
          "untrained; give a saved model folder"));
    }
  }
  return absl::OkStatus();
}

void PrintJson(const nlohmann::ordered_json& document) {
  std::printf("%s\n", document
                           .dump(2, ' ', /*ensure_ascii=*/false,
                                 nlohmann::ordered_json::error_handler_t::replace)
                           .c_str());
}

}  // namespace nabla
