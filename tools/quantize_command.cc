// nabla quantize [--model=DIR] --data_dir=DIR --out=DIR
// [--calibration_images=N]: post-training int8 quantization of a saved model
// (infer/quantize.h), saved as a model folder, with the f32 and int8 test
// accuracy.

#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/quantize.h"
#include "infer/saved_model.h"
#include "tools/commands.h"
#include "train/idx.h"

ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_FLAG(std::string, out, "", "The folder the int8 model is saved in.");
ABSL_FLAG(int64_t, calibration_images, 512,
          "How many training images calibrate the activation ranges.");

namespace nabla {
namespace {

absl::Status RunQuantize(const Invocation& invocation) {
  const std::string out = UserPath(absl::GetFlag(FLAGS_out));
  if (out.empty()) return UsageError("--out=DIR is required");
  QuantizeOptions options;
  options.calibration_images = absl::GetFlag(FLAGS_calibration_images);
  if (options.calibration_images < 1) {
    return UsageError(absl::StrCat("--calibration_images must be positive, got ",
                                   options.calibration_images));
  }
  NABLA_RETURN_IF_ERROR(ApplyThreadsFlag());
  NABLA_ASSIGN_OR_RETURN(std::string path, ModelFromFlag());
  NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel(path));
  const std::string data_dir = UserPath(absl::GetFlag(FLAGS_data_dir));
  IdxOptions idx;
  idx.images_as_float = false;
  NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist(data_dir, "train", idx));
  NABLA_ASSIGN_OR_RETURN(QuantizedGraph quantized,
                         QuantizeModel(model, train.images, options));
  NABLA_RETURN_IF_ERROR(SaveQuantizedModel(quantized, model, out));
  std::printf("%s: int8 model of %s (calibrated on %lld images)\n  int8 nodes: %s\n",
              out.c_str(), path.c_str(),
              static_cast<long long>(std::min<int64_t>(
                  options.calibration_images, train.images.shape()[0])),
              absl::StrJoin(quantized.quantized_nodes, ", ").c_str());
  NABLA_ASSIGN_OR_RETURN(MnistData test, LoadMnist(data_dir, "t10k", idx));
  NABLA_ASSIGN_OR_RETURN(SavedModel int8, LoadSavedModel(out));
  NABLA_ASSIGN_OR_RETURN(
      double f32_accuracy,
      ClassificationAccuracy(*model.session, test.images, test.labels));
  NABLA_ASSIGN_OR_RETURN(
      double int8_accuracy,
      ClassificationAccuracy(*int8.session, test.images, test.labels));
  std::printf("  test accuracy (%lld images): f32 %.2f%%, int8 %.2f%%\n",
              static_cast<long long>(test.labels.num_elements()),
              100 * f32_accuracy, 100 * int8_accuracy);
  return absl::OkStatus();
}

}  // namespace

const Command& QuantizeCommand() {
  static const Command* const kCommand = new Command{
      "quantize",
      "Post-training int8 quantization of a model",
      "quantize [--model=DIR] [--data_dir=DIR] --out=DIR [--calibration_images=N]",
      "Runs the f32 model on the first --calibration_images MNIST training\n"
      "images, records each activation's range, and saves in --out a model\n"
      "whose convolutions, poolings and dense layers run in int8 (u8\n"
      "activations, s8 weights per output channel). Prints the f32 and int8\n"
      "accuracy on the test set. `nabla predict --model=OUT` runs it.\n\n"
      "  nabla quantize --data_dir=data/mnist --out=/tmp/lecture_int8",
      {"model", "data_dir", "out", "calibration_images", "threads"},
      /*min_args=*/0,
      /*max_args=*/0,
      RunQuantize};
  return *kCommand;
}

}  // namespace nabla
