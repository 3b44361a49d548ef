// The MNIST models of examples/mnist.cc (`--model=`), each with the recipe
// it is trained with:
//
//   lecture  the lecture's Keras network (examples/lecture_model.h), Adam at
//            1e-3, batch 128, 10 epochs, nothing else: as Keras trains it.
//   fast     a small network with batch normalization, trained with a
//            one-cycle schedule for one epoch at batch 64: 99% test
//            accuracy in about 6 seconds on a 2-core machine.
//   best     a deeper network with batch normalization and dropout, trained
//            on augmented images (shifts, rotations, scaling) with AdamW, a
//            one-cycle schedule and label smoothing: the most accurate
//            single model, and the member of an ensemble.
//   best_strided
//            best's ensemble partner: best's recipe on a network that
//            downsamples by strided convolutions instead of max pooling,
//            so that its mistakes are not best's; an ensemble mixes both.
//   best_gap a third partner with best's recipe: wider late convolutions
//            and global average pooling in place of the dense layer.
//
//   GraphBuilder b;
//   NABLA_ASSIGN_OR_RETURN(ModelKind kind, ParseModelKind("fast"));
//   ClassifierModel model = BuildModel(kind, b, /*seed=*/42);
//   TrainingRecipe recipe = RecipeFor(kind);
//
// Every model takes u8 pixels [?, 1, 28, 28] and labels i32 [?], as the
// lecture model does, so the data, the evaluation, `nabla predict` and the
// export are the same for all of them.

#ifndef NABLA_EXAMPLES_MODELS_H_
#define NABLA_EXAMPLES_MODELS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/builder.h"
#include "train/augment.h"

namespace nabla {

// ModelKind names one of the models.
enum class ModelKind { kLecture, kFast, kBest, kBestStrided, kBestGap };

// ParseModelKind reads "lecture", "fast", "best", "best_strided" or
// "best_gap"; InvalidArgument naming the flag otherwise.
absl::StatusOr<ModelKind> ParseModelKind(absl::string_view name);
std::string ModelKindName(ModelKind kind);

// ClassifierModel: the values a training loop and a classifier need.
struct ClassifierModel {
  Output images;         // placeholder u8 [?, 1, 28, 28], pixels 0-255
  Output labels;         // placeholder i32 [?], classes 0-9
  Output logits;         // f32 [?, 10]
  Output probabilities;  // softmax(logits): the model's prediction
  Output loss;           // mean cross-entropy (label-smoothed for best*)
  Output accuracy;       // fraction of the batch classified right
  // What the optimizer updates (weights, biases, batch normalization's
  // scale and shift; not its running statistics).
  std::vector<Output> variables;
};

// BuildModel adds the model of `kind` to `b`, its weights drawn from
// `seed`.
ClassifierModel BuildModel(ModelKind kind, GraphBuilder& b, int64_t seed);

// LearningRateShape is the schedule a recipe trains with.
enum class LearningRateShape { kConstant, kOneCycle };

// TrainingRecipe: how a model is trained, the defaults of the example's
// flags for it.
struct TrainingRecipe {
  int epochs = 10;
  int batch_size = 128;
  // Adam's rate, or with a one-cycle schedule its peak.
  double learning_rate = 1e-3;
  LearningRateShape schedule = LearningRateShape::kConstant;
  // One-cycle: the fraction of the steps that warm up.
  float warmup_fraction = 0.3f;
  // Decoupled weight decay (AdamW) of the kernels, 0 for none.
  float weight_decay = 0;
  // Label smoothing of the loss (the model's loss already has it; recorded
  // here for the record of the run).
  float label_smoothing = 0;
  // Augmentation of the training images; all zero for none.
  AugmentOptions augment;
};

// RecipeFor is the recipe `kind` is trained with.
TrainingRecipe RecipeFor(ModelKind kind);

}  // namespace nabla

#endif  // NABLA_EXAMPLES_MODELS_H_
