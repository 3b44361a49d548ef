// Ensembles: several saved models that answer together, each example's
// class probabilities averaged over the models.
//
//   NABLA_ASSIGN_OR_RETURN(auto ensemble,
//                          Ensemble::Load({"runs/seed1", "runs/seed2"}));
//   NABLA_ASSIGN_OR_RETURN(Tensor p, ensemble->Predict(images));
//   // p: f32 [N, classes], row i the mean of the models' rows i.
//   NABLA_ASSIGN_OR_RETURN(double accuracy,
//                          ensemble->Evaluate({test.images, test.labels}));
//   // Or the ensemble's and each model's correct answers at once:
//   NABLA_ASSIGN_OR_RETURN(EnsembleScore score,
//                          ensemble->Score({test.images, test.labels}));
//
// Each model is a folder LoadSavedModel reads (infer/saved_model.h) whose
// graph has, as the lecture model's, a placeholder "images" and an output
// "probabilities" f32 [?, classes]. All must take the same input (dtype and
// shape) and give the same number of classes.

#ifndef NABLA_INFER_ENSEMBLE_H_
#define NABLA_INFER_ENSEMBLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "graph/session.h"
#include "infer/saved_model.h"
#include "train/fit.h"

namespace nabla {

// EnsembleScore counts the examples an ensemble and each of its models
// classify correctly.
struct EnsembleScore {
  int64_t examples = 0;
  int64_t correct = 0;                 // by the averaged probabilities
  std::vector<int64_t> model_correct;  // per model, in Ensemble::dirs() order

  // accuracy() is correct / examples; model_accuracy(i) model i's.
  double accuracy() const { return static_cast<double>(correct) / examples; }
  double model_accuracy(size_t i) const {
    return static_cast<double>(model_correct[i]) / examples;
  }
};

// Ensemble averages the probabilities of its models. Not thread-safe, as
// Session is.
//
// Prediction compiles only what "probabilities" needs, once per model and
// batch size: batches over kMaxBatch are split and the last one is padded
// (with zeros) to a power of two, so each model holds at most nine plans.
class Ensemble {
 public:
  // Load loads every folder of `dirs` (at least one). InvalidArgument,
  // naming the folder, for a model without the interface above or one
  // whose input or class count differs from the first model's; the errors
  // of LoadSavedModel otherwise.
  static absl::StatusOr<std::unique_ptr<Ensemble>> Load(
      const std::vector<std::string>& dirs);

  // kMaxBatch is the largest batch one plan runs.
  static constexpr int64_t kMaxBatch = 256;

  // Predict returns f32 [N, num_classes()]: for each of the N `images`
  // (input_dtype(), input_shape() with N rows) the mean of the models'
  // probabilities, summed in double in the order the models were given.
  absl::StatusOr<Tensor> Predict(const Tensor& images);

  // Evaluate is the fraction of `data`'s examples whose most probable
  // class (the first, on ties) is their label: i32 or i64 [N], each in
  // [0, num_classes()).
  absl::StatusOr<double> Evaluate(const Dataset& data);

  // Score is Evaluate with the counts behind it, the ensemble's and each
  // model's alone, from one pass over `data`; the same errors.
  absl::StatusOr<EnsembleScore> Score(const Dataset& data);

  // size() is the number of models; dirs() the folders they came from.
  size_t size() const { return members_.size(); }
  const std::vector<std::string>& dirs() const { return dirs_; }
  // input_dtype() and input_shape() are what "images" takes (dimension 0
  // unknown); num_classes() the width of "probabilities".
  DType input_dtype() const { return input_dtype_; }
  const Shape& input_shape() const { return input_shape_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  // A prediction plan and the buffers it runs with.
  struct CompiledBatch {
    Plan* plan = nullptr;
    Tensor images;
    std::vector<Tensor> fetches;
  };
  struct Member {
    SavedModel model;
    NodeOutput images;
    NodeOutput probabilities;
    absl::flat_hash_map<int64_t, CompiledBatch> plans;
  };

  Ensemble() = default;
  absl::StatusOr<CompiledBatch*> PlanFor(Member& member, int64_t batch);
  // PredictWithVotes is Predict that also stores, when `votes` is not null,
  // each model's most probable class per example: (*votes)[model][example].
  absl::StatusOr<Tensor> PredictWithVotes(
      const Tensor& images, std::vector<std::vector<int32_t>>* votes);

  std::vector<std::string> dirs_;
  std::vector<std::unique_ptr<Member>> members_;
  DType input_dtype_ = DType::kInvalid;
  Shape input_shape_;
  int64_t num_classes_ = 0;
};

}  // namespace nabla

#endif  // NABLA_INFER_ENSEMBLE_H_
