#include "infer/ensemble.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace nabla {
namespace {

constexpr char kImages[] = "images";
constexpr char kProbabilities[] = "probabilities";

// The next power of two (see DigitClassifier).
int64_t BucketFor(int64_t n) {
  int64_t bucket = 1;
  while (bucket < n) bucket *= 2;
  return bucket;
}

std::string InputString(DType dtype, const Shape& shape) {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ensemble>> Ensemble::Load(
    const std::vector<std::string>& dirs) {
  if (dirs.empty()) {
    return absl::InvalidArgumentError("an ensemble needs at least one model");
  }
  std::unique_ptr<Ensemble> ensemble(new Ensemble());
  for (const std::string& dir : dirs) {
    auto member = std::make_unique<Member>();
    NABLA_ASSIGN_OR_RETURN(member->model, LoadSavedModel(dir));
    const Graph& graph = member->model.session->graph();
    absl::StatusOr<NodeOutput> images = graph.FindOutput(kImages);
    if (!images.ok() || graph.node(images->node).op() != "Placeholder" ||
        graph.spec(*images).shape.rank() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", dir, "' has no placeholder 'images' with a batch dimension"));
    }
    const TensorSpec& input = graph.spec(*images);
    const Shape example = input.shape.WithDim(0, 1);
    if (!example.IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", dir, "' takes images ", input.ToString(),
          ", whose sizes past the batch are not all known"));
    }
    absl::StatusOr<NodeOutput> probabilities = graph.FindOutput(kProbabilities);
    if (!probabilities.ok() ||
        graph.spec(*probabilities).dtype != DType::kF32 ||
        graph.spec(*probabilities).shape.rank() != 2 ||
        graph.spec(*probabilities).shape[1] < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", dir,
          "' has no output 'probabilities' of f32 [?, classes] with a known "
          "class count"));
    }
    const Shape input_shape = input.shape.WithDim(0, kUnknownDim);
    const int64_t classes = graph.spec(*probabilities).shape[1];
    if (ensemble->members_.empty()) {
      ensemble->input_dtype_ = input.dtype;
      ensemble->input_shape_ = input_shape;
      ensemble->num_classes_ = classes;
    } else if (input.dtype != ensemble->input_dtype_ ||
               input_shape != ensemble->input_shape_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", dir, "' takes images ",
          InputString(input.dtype, input_shape), " but model '", dirs[0],
          "' takes ",
          InputString(ensemble->input_dtype_, ensemble->input_shape_),
          ": an ensemble's models must take the same input"));
    } else if (classes != ensemble->num_classes_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model '", dir, "' has ", classes, " classes but model '", dirs[0],
          "' has ", ensemble->num_classes_,
          ": an ensemble's models must have the same classes"));
    }
    member->images = *images;
    member->probabilities = *probabilities;
    ensemble->members_.push_back(std::move(member));
    ensemble->dirs_.push_back(dir);
  }
  return ensemble;
}

absl::StatusOr<Ensemble::CompiledBatch*> Ensemble::PlanFor(Member& member,
                                                           int64_t batch) {
  auto it = member.plans.find(batch);
  if (it != member.plans.end()) return &it->second;
  const Shape shape = input_shape_.WithDim(0, batch);
  NABLA_ASSIGN_OR_RETURN(
      Plan * plan,
      member.model.session->Compile({{member.images, shape}},
                                    {member.probabilities}));
  CompiledBatch compiled;
  compiled.plan = plan;
  try {
    compiled.images = Tensor(input_dtype_, shape);
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryStatus("allocating an ensemble's batch", e);
  }
  return &(member.plans[batch] = std::move(compiled));
}

absl::StatusOr<Tensor> Ensemble::Predict(const Tensor& images) {
  return PredictWithVotes(images, /*votes=*/nullptr);
}

absl::StatusOr<Tensor> Ensemble::PredictWithVotes(
    const Tensor& images, std::vector<std::vector<int32_t>>* votes) {
  if (images.empty() || images.dtype() != input_dtype_ ||
      images.shape().rank() != input_shape_.rank() ||
      !images.shape().IsCompatibleWith(input_shape_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ensemble takes images ", InputString(input_dtype_, input_shape_),
        ", not ", images.DebugString()));
  }
  const int64_t n = images.shape()[0];
  const int64_t classes = num_classes_;
  const size_t row_bytes = images.nbytes() / std::max<int64_t>(n, 1);
  Tensor result;
  std::vector<double> sums;
  try {
    result = Tensor(DType::kF32, Shape({n, classes}));
    sums.assign(std::min(n, kMaxBatch) * classes, 0.0);
    if (votes != nullptr) votes->assign(members_.size(), std::vector<int32_t>(n));
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryStatus("allocating an ensemble's predictions", e);
  }
  const char* pixels = static_cast<const char*>(images.raw_data());
  float* out = result.data<float>();
  for (int64_t start = 0; start < n; start += kMaxBatch) {
    const int64_t rows = std::min(kMaxBatch, n - start);
    std::fill(sums.begin(), sums.end(), 0.0);
    for (size_t m = 0; m < members_.size(); ++m) {
      NABLA_ASSIGN_OR_RETURN(CompiledBatch * compiled,
                             PlanFor(*members_[m], BucketFor(rows)));
      char* batch = static_cast<char*>(compiled->images.raw_data());
      std::memcpy(batch, pixels + start * row_bytes, rows * row_bytes);
      // Padding rows are zeros; their predictions are dropped.
      std::memset(batch + rows * row_bytes, 0,
                  compiled->images.nbytes() - rows * row_bytes);
      NABLA_RETURN_IF_ERROR(
          compiled->plan->Run({compiled->images}, &compiled->fetches));
      const float* p = compiled->fetches[0].data<float>();
      for (int64_t i = 0; i < rows * classes; ++i) sums[i] += p[i];
      if (votes != nullptr) {
        for (int64_t i = 0; i < rows; ++i) {
          const float* row = p + i * classes;
          (*votes)[m][start + i] =
              static_cast<int32_t>(std::max_element(row, row + classes) - row);
        }
      }
    }
    const double models = static_cast<double>(members_.size());
    for (int64_t i = 0; i < rows * classes; ++i) {
      out[start * classes + i] = static_cast<float>(sums[i] / models);
    }
  }
  return result;
}

absl::StatusOr<double> Ensemble::Evaluate(const Dataset& data) {
  NABLA_ASSIGN_OR_RETURN(EnsembleScore score, Score(data));
  return score.accuracy();
}

absl::StatusOr<EnsembleScore> Ensemble::Score(const Dataset& data) {
  const Tensor& labels = data.labels;
  if (labels.empty() || labels.shape().rank() != 1 ||
      (labels.dtype() != DType::kI32 && labels.dtype() != DType::kI64)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ensemble's evaluation labels must be i32 or i64 [N], not ",
        labels.DebugString()));
  }
  if (data.inputs.empty() || data.inputs.shape().rank() < 1 ||
      data.inputs.shape()[0] != labels.shape()[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ensemble's evaluation data have ",
        data.inputs.empty() ? std::string("no") : data.inputs.DebugString(),
        " inputs but ", labels.shape()[0], " labels"));
  }
  const int64_t n = labels.shape()[0];
  if (n == 0) {
    return absl::InvalidArgumentError(
        "the ensemble's evaluation data have no examples");
  }
  // Labels are checked before the models run: a bad one is found at once.
  std::vector<int64_t> truth(n);
  for (int64_t i = 0; i < n; ++i) {
    truth[i] = labels.dtype() == DType::kI32 ? labels.data<int32_t>()[i]
                                             : labels.data<int64_t>()[i];
    if (truth[i] < 0 || truth[i] >= num_classes_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label ", truth[i], " of example ", i, " is outside [0, ",
          num_classes_, ")"));
    }
  }
  std::vector<std::vector<int32_t>> votes;
  NABLA_ASSIGN_OR_RETURN(Tensor probabilities, PredictWithVotes(data.inputs, &votes));
  EnsembleScore score;
  score.examples = n;
  score.model_correct.assign(members_.size(), 0);
  const float* p = probabilities.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * num_classes_;
    score.correct += (std::max_element(row, row + num_classes_) - row) == truth[i];
    for (size_t m = 0; m < members_.size(); ++m) {
      score.model_correct[m] += votes[m][i] == truth[i];
    }
  }
  return score;
}

}  // namespace nabla
