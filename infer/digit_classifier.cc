#include "infer/digit_classifier.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace nabla {
namespace {

constexpr char kImages[] = "images";
constexpr char kProbabilities[] = "probabilities";
constexpr int kClasses = 10;
constexpr int64_t kPixelsPerDigit = kMnistSide * kMnistSide;

bool HasShape(const Shape& shape, std::initializer_list<int64_t> dims) {
  if (shape.rank() != static_cast<int>(dims.size())) return false;
  int i = 0;
  for (int64_t d : dims) {
    if (d != kUnknownDim && shape[i] != d && shape[i] != kUnknownDim) return false;
    ++i;
  }
  return true;
}

// The batch size a plan is compiled for: the next power of two, so that
// a session holds at most log2(kMaxBatch) + 1 prediction plans whatever
// sizes its callers use; the padding rows cost at most as much as the
// real ones.
int64_t BucketFor(int64_t n) {
  int64_t bucket = 1;
  while (bucket < n) bucket *= 2;
  return bucket;
}

absl::StatusOr<Tensor> FindVariable(const Session& session, const char* name,
                                    std::initializer_list<int64_t> dims) {
  const Tensor* value = session.variables().Find(name);
  if (value == nullptr || value->dtype() != DType::kF32 ||
      !HasShape(value->shape(), dims)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the model has no variable '", name, "' of shape ",
        Shape(dims).ToString(), " as the lecture model's first layer has"));
  }
  return value->Clone();
}

}  // namespace

absl::StatusOr<std::unique_ptr<DigitClassifier>> DigitClassifier::Load(
    const std::string& path) {
  NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel(path));
  const Graph& graph = model.session->graph();
  absl::StatusOr<NodeOutput> images = graph.FindOutput(kImages);
  if (!images.ok() || graph.node(images->node).op() != "Placeholder" ||
      graph.spec(*images).dtype != DType::kU8 ||
      !HasShape(graph.spec(*images).shape, {kUnknownDim, 1, kMnistSide, kMnistSide})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", model.graph_path, "' has no placeholder 'images' of u8 [?, 1, ",
        kMnistSide, ", ", kMnistSide, "]: not a digit classifier"));
  }
  absl::StatusOr<NodeOutput> probabilities = graph.FindOutput(kProbabilities);
  if (!probabilities.ok() || graph.spec(*probabilities).dtype != DType::kF32 ||
      !HasShape(graph.spec(*probabilities).shape, {kUnknownDim, kClasses})) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", model.graph_path,
        "' has no output 'probabilities' of f32 [?, 10]: not a digit classifier"));
  }
  auto classifier = absl::WrapUnique(new DigitClassifier(std::move(model)));
  classifier->images_ = *images;
  classifier->probabilities_ = *probabilities;
  return classifier;
}

absl::StatusOr<DigitClassifier::CompiledBatch*> DigitClassifier::PlanFor(
    int64_t batch) {
  auto it = plans_.find(batch);
  if (it != plans_.end()) return &it->second;
  Shape shape({batch, 1, kMnistSide, kMnistSide});
  NABLA_ASSIGN_OR_RETURN(
      Plan * plan, model_.session->Compile({{images_, shape}}, {probabilities_}));
  CompiledBatch& compiled = plans_[batch];
  compiled.plan = plan;
  compiled.images = Tensor(DType::kU8, shape);
  return &compiled;
}

absl::StatusOr<std::vector<DigitPrediction>> DigitClassifier::Predict(
    absl::Span<const MnistDigit> digits) {
  std::vector<DigitPrediction> predictions(digits.size());
  for (size_t start = 0; start < digits.size(); start += kMaxBatch) {
    const int64_t n = std::min<int64_t>(kMaxBatch, digits.size() - start);
    NABLA_ASSIGN_OR_RETURN(CompiledBatch * compiled, PlanFor(BucketFor(n)));
    uint8_t* pixels = compiled->images.data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(pixels + i * kPixelsPerDigit, digits[start + i].pixels.data(),
                  kPixelsPerDigit);
    }
    // Padding rows are blank; their predictions are dropped.
    std::memset(pixels + n * kPixelsPerDigit, 0,
                compiled->images.nbytes() - n * kPixelsPerDigit);
    NABLA_RETURN_IF_ERROR(
        compiled->plan->Run({compiled->images}, &compiled->fetches));
    const float* probabilities = compiled->fetches[0].data<float>();
    for (int64_t i = 0; i < n; ++i) {
      DigitPrediction& p = predictions[start + i];
      std::copy_n(probabilities + i * kClasses, kClasses, p.probabilities.begin());
      std::iota(p.ranking.begin(), p.ranking.end(), 0);
      std::stable_sort(p.ranking.begin(), p.ranking.end(), [&p](int a, int b) {
        return p.probabilities[a] > p.probabilities[b];
      });
      p.digit = p.ranking[0];
    }
  }
  return predictions;
}

absl::StatusOr<FirstLayers> DigitClassifier::Explain(const MnistDigit& digit) {
  if (explain_plan_ == nullptr) {
    const Graph& graph = model_.session->graph();
    absl::StatusOr<NodeOutput> conv1 = graph.FindOutput("conv1");
    absl::StatusOr<NodeOutput> pool1 = graph.FindOutput("pool1");
    if (!conv1.ok() || !pool1.ok() ||
        !HasShape(graph.spec(*conv1).shape, {kUnknownDim, 32, 24, 24}) ||
        !HasShape(graph.spec(*pool1).shape, {kUnknownDim, 32, 12, 12})) {
      return absl::InvalidArgumentError(
          "the model has no nodes 'conv1' (f32 [?, 32, 24, 24]) and 'pool1' "
          "(f32 [?, 32, 12, 12]) as the lecture model has");
    }
    NABLA_ASSIGN_OR_RETURN(explain_filters_,
                           FindVariable(*model_.session, "conv1/w", {32, 1, 5, 5}));
    NABLA_ASSIGN_OR_RETURN(explain_bias_,
                           FindVariable(*model_.session, "conv1/b", {32}));
    Shape shape({1, 1, kMnistSide, kMnistSide});
    NABLA_ASSIGN_OR_RETURN(explain_plan_,
                           model_.session->Compile({{images_, shape}}, {*conv1, *pool1}));
    explain_images_ = Tensor(DType::kU8, shape);
  }
  std::memcpy(explain_images_.raw_data(), digit.pixels.data(), kPixelsPerDigit);
  std::vector<Tensor> fetches;
  NABLA_RETURN_IF_ERROR(explain_plan_->Run({explain_images_}, &fetches));
  FirstLayers layers;
  // Fresh tensors each call: the caller keeps them past the next one.
  layers.conv1 = fetches[0].Reshaped(Shape({32, 24, 24}));
  layers.pool1 = fetches[1].Reshaped(Shape({32, 12, 12}));
  layers.filters = explain_filters_;
  layers.bias = explain_bias_;
  return layers;
}

}  // namespace nabla
