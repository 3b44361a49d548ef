// Post-training int8 quantization of a trained f32 model: calibrate on a few
// hundred images, then rewrite its Conv2DWithBias / MaxPool2D / Flatten /
// Dense chains into the int8 ops of ops/quantized.h. The result is an
// ordinary saved model folder (model.pbtxt and the source's checkpoint,
// whose f32 weights the int8 kernels quantize when their plan compiles), so
// LoadSavedModel and DigitClassifier load it as any other.
//
//   NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel("data/models/lecture"));
//   NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist("data/mnist", "train", u8));
//   NABLA_ASSIGN_OR_RETURN(QuantizedGraph q,
//                          QuantizeModel(model, train.images, {}));
//   NABLA_RETURN_IF_ERROR(SaveQuantizedModel(q, model, "/tmp/lecture_int8"));
//
// What becomes int8: a Conv2DWithBias or Dense whose input is non-negative
// (u8 pixels rescaled by a Cast, a ReLU layer's output, or any value that
// calibration saw non-negative, which gets a Quantize node). Its output is
// u8 when it has a ReLU and every consumer is a layer that can take u8
// (another such layer, MaxPool2D, or a Flatten feeding only Dense layers,
// which QuantizedDense folds), else f32. Other nodes stay as they are, with
// a Dequantize in front where they read a value that became u8.

#ifndef NABLA_INFER_QUANTIZE_H_
#define NABLA_INFER_QUANTIZE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "infer/saved_model.h"
#include "proto/graph.pb.h"

namespace nabla {

// QuantizeOptions steer calibration and rewriting.
struct QuantizeOptions {
  // The placeholder the calibration images feed.
  std::string input = "images";
  // The values the quantized graph computes; only what they need is kept
  // (a training graph's gradients and optimizer are dropped).
  std::vector<std::string> outputs = {"probabilities"};
  // How many of the calibration images are used (the first ones).
  int64_t calibration_images = 512;
  // Images per calibration run.
  int64_t batch_size = 128;
};

// ActivationRange is what calibration saw of one f32 value.
struct ActivationRange {
  std::string value;  // "node" or "node:index"
  float min = 0;
  float max = 0;
};

// QuantizedGraph is QuantizeModel's result.
struct QuantizedGraph {
  proto::GraphDef graph;
  // The calibrated values, in graph order.
  std::vector<ActivationRange> ranges;
  // The nodes that became int8 ops, in graph order.
  std::vector<std::string> quantized_nodes;
};

// QuantizeModel calibrates `model` on `images` (u8 or f32, as its input
// placeholder takes them; the first options.calibration_images) and returns
// the rewritten graph. InvalidArgument naming the node for what it cannot
// quantize: a layer whose weights or bias are not Variables, explicit
// padding, or an input calibration saw negative.
absl::StatusOr<QuantizedGraph> QuantizeModel(const SavedModel& model,
                                             const Tensor& images,
                                             const QuantizeOptions& options = {});

// SaveQuantizedModel writes `quantized` as a saved model folder `out_dir`
// (created if missing): model.pbtxt, checked by loading it, and a copy of
// `source`'s checkpoint.
absl::Status SaveQuantizedModel(const QuantizedGraph& quantized,
                                const SavedModel& source,
                                const std::string& out_dir);

// ClassificationAccuracy is the fraction of `images` (fed to placeholder
// `input` in batches of `batch_size`) whose `output` (class scores [N,
// classes]) is largest at the label in `labels` (i32 [N]).
absl::StatusOr<double> ClassificationAccuracy(
    Session& session, const Tensor& images, const Tensor& labels,
    const std::string& input = "images",
    const std::string& output = "probabilities", int64_t batch_size = 1000);

}  // namespace nabla

#endif  // NABLA_INFER_QUANTIZE_H_
