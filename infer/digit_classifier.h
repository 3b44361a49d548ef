// Recognising handwritten digits with a trained MNIST model: one compiled
// plan per batch size, reused across calls. Shared by `nabla predict`, the
// demo server and the tests.
//
//   NABLA_ASSIGN_OR_RETURN(auto classifier, DigitClassifier::Load(model_dir));
//   NABLA_ASSIGN_OR_RETURN(GrayImage photo, ReadImage("seven.jpg"));
//   NABLA_ASSIGN_OR_RETURN(MnistDigit digit, PrepareDigit(photo));
//   NABLA_ASSIGN_OR_RETURN(std::vector<DigitPrediction> p,
//                          classifier->Predict({digit}));
//   // p[0].digit == 7, p[0].probabilities[7] close to 1.

#ifndef NABLA_INFER_DIGIT_CLASSIFIER_H_
#define NABLA_INFER_DIGIT_CLASSIFIER_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "infer/saved_model.h"
#include "io/digit.h"

namespace nabla {

// DigitPrediction is the model's answer for one digit.
struct DigitPrediction {
  std::array<float, 10> probabilities{};
  // The most probable class.
  int digit = 0;
  // Classes by decreasing probability.
  std::array<int, 10> ranking{};
};

// FirstLayers are the lecture model's first convolution and pooling for one
// digit, for pictures of what the network sees.
struct FirstLayers {
  Tensor conv1;    // f32 [32, 24, 24], after ReLU
  Tensor pool1;    // f32 [32, 12, 12]
  Tensor filters;  // f32 [32, 1, 5, 5], the learned conv1 weights
  Tensor bias;     // f32 [32]
};

// DigitClassifier runs a model whose graph has the lecture model's
// interface: placeholder "images" (u8 [?, 1, 28, 28]) and output
// "probabilities" (f32 [?, 10]). Not thread-safe, as Session is: use one
// per thread, or a lock.
//
// Prediction compiles only what "probabilities" needs (a training graph's
// loss, gradients and optimizer are pruned), once per batch size: sizes are
// rounded up to a power of two (padded with blank digits) and batches over
// kMaxBatch are split, so at most nine plans are ever compiled and each
// call after the first of its size allocates nothing but its result.
class DigitClassifier {
 public:
  // Load loads `path` (see LoadSavedModel) and checks its interface.
  static absl::StatusOr<std::unique_ptr<DigitClassifier>> Load(
      const std::string& path);

  // kMaxBatch is the largest batch one plan runs.
  static constexpr int64_t kMaxBatch = 256;

  // Predict classifies `digits`, in batches of up to kMaxBatch; an empty
  // span gives an empty result.
  absl::StatusOr<std::vector<DigitPrediction>> Predict(
      absl::Span<const MnistDigit> digits);

  // Explain returns the first convolution and pooling for `digit` (fresh
  // tensors, the caller's to keep) and copies of conv1's weights;
  // InvalidArgument if the graph has no nodes conv1, pool1, conv1/w and
  // conv1/b of the lecture model's shapes.
  absl::StatusOr<FirstLayers> Explain(const MnistDigit& digit);

  Session& session() { return *model_.session; }

 private:
  // A prediction plan and the buffers it runs with.
  struct CompiledBatch {
    Plan* plan = nullptr;
    Tensor images;                // u8 [batch, 1, 28, 28]
    std::vector<Tensor> fetches;  // probabilities, overwritten each run
  };

  explicit DigitClassifier(SavedModel model) : model_(std::move(model)) {}
  absl::StatusOr<CompiledBatch*> PlanFor(int64_t batch);

  SavedModel model_;
  NodeOutput images_;
  NodeOutput probabilities_;
  absl::flat_hash_map<int64_t, CompiledBatch> plans_;
  Plan* explain_plan_ = nullptr;
  Tensor explain_images_;
  Tensor explain_filters_;
  Tensor explain_bias_;
};

}  // namespace nabla

#endif  // NABLA_INFER_DIGIT_CLASSIFIER_H_
