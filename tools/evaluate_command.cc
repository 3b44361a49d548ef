// nabla evaluate [--model=DIR[,DIR...]] [--data_dir=DIR] [--json]: the
// test accuracy of a saved model, or of an ensemble and each of its models,
// on an MNIST-format test set (t10k- files).

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/ensemble.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "train/idx.h"

ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(bool, json);

namespace nabla {
namespace {

// "99.74% (26 of 10000 wrong)".
std::string AccuracyText(int64_t correct, int64_t examples) {
  return absl::StrFormat("%.2f%% (%d of %d wrong)", 100.0 * correct / examples,
                         examples - correct, examples);
}

nlohmann::ordered_json AccuracyJson(int64_t correct, int64_t examples) {
  return {{"accuracy", static_cast<double>(correct) / examples},
          {"correct", correct},
          {"wrong", examples - correct}};
}

absl::Status RunEvaluate(const Invocation& invocation) {
  NABLA_RETURN_IF_ERROR(ApplyThreadsFlag());
  NABLA_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelsFromFlag());
  NABLA_RETURN_IF_ERROR(CheckNoBareGraph(models));
  NABLA_ASSIGN_OR_RETURN(std::unique_ptr<Ensemble> ensemble, Ensemble::Load(models));
  // The test images are read as the models take them: u8 as stored, or
  // f32 in [0, 1] for a model trained on those.
  IdxOptions idx;
  idx.images_as_float = ensemble->input_dtype() == DType::kF32;
  if (!idx.images_as_float && ensemble->input_dtype() != DType::kU8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the models take ", DTypeName(ensemble->input_dtype()),
        " images; MNIST test images are u8 or f32"));
  }
  idx.num_classes = static_cast<int>(ensemble->num_classes());
  const std::string data_dir = UserPath(absl::GetFlag(FLAGS_data_dir));
  NABLA_ASSIGN_OR_RETURN(MnistData test, LoadMnist(data_dir, "t10k", idx));
  absl::StatusOr<EnsembleScore> scored = ensemble->Score({test.images, test.labels});
  if (!scored.ok()) {
    return Annotate(scored.status(), absl::StrCat("the test set of '", data_dir, "'"));
  }
  const EnsembleScore& score = *scored;

  if (absl::GetFlag(FLAGS_json)) {
    nlohmann::ordered_json each = nlohmann::ordered_json::array();
    for (size_t i = 0; i < models.size(); ++i) {
      nlohmann::ordered_json entry = {{"model", models[i]}};
      entry.update(AccuracyJson(score.model_correct[i], score.examples));
      each.push_back(entry);
    }
    nlohmann::ordered_json document = {{"data_dir", data_dir},
                                       {"examples", score.examples},
                                       {"models", each}};
    if (models.size() > 1) {
      document["ensemble"] = AccuracyJson(score.correct, score.examples);
    }
    PrintJson(document);
    return absl::OkStatus();
  }
  std::printf("test set of %s: %lld images\n", data_dir.c_str(),
              static_cast<long long>(score.examples));
  for (size_t i = 0; i < models.size(); ++i) {
    std::printf("%s: %s\n", models[i].c_str(),
                AccuracyText(score.model_correct[i], score.examples).c_str());
  }
  if (models.size() > 1) {
    std::printf("ensemble of %zu: %s\n", models.size(),
                AccuracyText(score.correct, score.examples).c_str());
  }
  return absl::OkStatus();
}

}  // namespace

const Command& EvaluateCommand() {
  static const Command* const kCommand = new Command{
      "evaluate",
      "Test accuracy of a model, or of an ensemble and each of its models",
      "evaluate [--model=DIR[,DIR...]] [--data_dir=DIR] [--json] [--threads=N]",
      "Classifies the test set of --data_dir (t10k-images-idx3-ubyte and\n"
      "t10k-labels-idx1-ubyte, plain or gzipped) and prints the share right.\n"
      "--model=DIR1,DIR2,... is an ensemble: its probabilities are the models'\n"
      "mean, as `nabla predict` averages them, and each model is scored too,\n"
      "from the same pass:\n\n"
      "  nabla evaluate --model=runs/seed1,runs/seed2,runs/seed3\n"
      "  test set of data/mnist: 10000 images\n"
      "  runs/seed1: 99.70% (30 of 10000 wrong)\n"
      "  ...\n"
      "  ensemble of 3: 99.74% (26 of 10000 wrong)",
      {"model", "data_dir", "json", "threads"},
      /*min_args=*/0,
      /*max_args=*/0,
      RunEvaluate};
  return *kCommand;
}

}  // namespace nabla
