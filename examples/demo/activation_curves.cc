#include "examples/demo/activation_curves.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/ops.h"

namespace nabla {
namespace {

constexpr double kMaxAbsX = 100;
// The probabilities the cross-entropy curve spans. Both ends stay inside
// BinaryCrossEntropy's clipping range [1e-7, 1 - 1e-7], where the loss
// would flatten and its gradient drop to 0.
constexpr double kMinProbability = 0.001;
constexpr double kMaxProbability = 0.999;

std::string LeakyKey(int alpha_index) {
  return absl::StrCat("leaky_relu/", alpha_index);
}

// x[i] for kCurvePoints points from `from` to `to`, both included.
std::vector<float> Linspace(double from, double to) {
  std::vector<float> x(kCurvePoints);
  for (int i = 0; i < kCurvePoints; ++i) {
    x[i] = static_cast<float>(from + (to - from) * i / (kCurvePoints - 1));
  }
  return x;
}

std::vector<float> ToVector(const Tensor& t) {
  absl::Span<const float> values = t.flat<const float>();
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace

absl::Status ValidateRange(const CurveRange& range) {
  if (!std::isfinite(range.from) || !std::isfinite(range.to)) {
    return absl::InvalidArgumentError("the range's ends must be finite numbers");
  }
  if (!(range.from < range.to)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the range must have from < to, not from=", range.from,
        " and to=", range.to));
  }
  if (std::abs(range.from) > kMaxAbsX || std::abs(range.to) > kMaxAbsX) {
    return absl::InvalidArgumentError(
        absl::StrCat("the range must lie within [-", kMaxAbsX, ", ", kMaxAbsX,
                     "], not [", range.from, ", ", range.to, "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> LeakyReluAlphaIndex(float alpha) {
  for (int i = 0; i < static_cast<int>(kLeakyReluAlphas.size()); ++i) {
    if (std::abs(alpha - kLeakyReluAlphas[i]) < 1e-4f) return i;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("leaky ReLU is compiled for alpha in {",
                   absl::StrJoin(kLeakyReluAlphas, ", "), "}, not ", alpha));
}

absl::StatusOr<std::unique_ptr<ActivationCurves>> ActivationCurves::Create() {
  GraphBuilder b;
  const Shape points({kCurvePoints});

  // y = f(x) element-wise; since y_i depends on x_i alone, the gradient of
  // sum(y) with respect to x is exactly dy_i/dx_i at every point.
  Output x = b.Placeholder("x", points);
  std::vector<std::pair<std::string, Output>> activations = {
      {"linear", Identity(x, "linear")},
      {"sigmoid", Sigmoid(x, "sigmoid")},
      {"tanh", Tanh(x, "tanh")},
      {"relu", Relu(x, "relu")},
  };
  for (int i = 0; i < static_cast<int>(kLeakyReluAlphas.size()); ++i) {
    activations.push_back(
        {LeakyKey(i), LeakyRelu(x, kLeakyReluAlphas[i], LeakyKey(i))});
  }
  std::vector<std::pair<std::string, std::array<Output, 2>>> curves;
  for (auto& [name, y] : activations) {
    NABLA_ASSIGN_OR_RETURN(std::vector<Output> dy,
                           Gradients(Sum(y, {}, false, name + "/sum"), {x}));
    curves.push_back({name, {y, dy[0]}});
  }

  // Softmax couples its inputs, so its derivative is a Jacobian; the
  // gradient of p0 = sum(p * [1, 0, 0]) over the rows is, row by row, the
  // Jacobian's first row d p0 / d z_j.
  Output z = b.Placeholder("z", {kCurvePoints, 3});
  Output p = nabla::Softmax(z, -1, "softmax");
  NABLA_ASSIGN_OR_RETURN(Tensor first_row,
                         Tensor::FromVector<float>({3}, {1, 0, 0}));
  Output first = b.Constant(first_row, "first");
  NABLA_ASSIGN_OR_RETURN(std::vector<Output> dp0,
                         Gradients(Sum(Mul(p, first), {}, false, "p0"), {z}));

  // One probability of the true class (label 1) per run: the loss reduces
  // to a scalar, and one run per point gives -log(p) itself.
  Output prob = b.Placeholder("p", {1});
  NABLA_ASSIGN_OR_RETURN(Tensor true_label, Tensor::FromVector<float>({1}, {1}));
  Output label = b.Constant(true_label, "label");
  Output bce = BinaryCrossEntropy(prob, label, Reduction::kSum, "bce");
  NABLA_ASSIGN_OR_RETURN(std::vector<Output> dbce, Gradients(bce, {prob}));

  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  auto result = std::unique_ptr<ActivationCurves>(new ActivationCurves());
  NABLA_ASSIGN_OR_RETURN(result->session_, Session::Create(std::move(graph)));
  Session& session = *result->session_;
  for (auto& [name, outputs] : curves) {
    NABLA_ASSIGN_OR_RETURN(
        Plan * plan,
        session.Compile({{x, points}}, {outputs[0].ref(), outputs[1].ref()}));
    result->activations_[name] = plan;
  }
  NABLA_ASSIGN_OR_RETURN(
      result->softmax_,
      session.Compile({{z, Shape({kCurvePoints, 3})}}, {p.ref(), dp0[0].ref()}));
  NABLA_ASSIGN_OR_RETURN(
      result->cross_entropy_,
      session.Compile({{prob, Shape({1})}}, {bce.ref(), dbce[0].ref()}));
  return result;
}

absl::StatusOr<Curve> ActivationCurves::Activation(absl::string_view name,
                                                   const CurveRange& range,
                                                   float alpha) {
  NABLA_RETURN_IF_ERROR(ValidateRange(range));
  std::string key(name);
  if (name == "leaky_relu") {
    NABLA_ASSIGN_OR_RETURN(int index, LeakyReluAlphaIndex(alpha));
    key = LeakyKey(index);
  }
  auto it = activations_.find(key);
  if (it == activations_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown activation '", name, "'; there are ",
                     absl::StrJoin(kActivationNames, ", ")));
  }
  Curve curve;
  curve.x = Linspace(range.from, range.to);
  NABLA_ASSIGN_OR_RETURN(
      Tensor feed, Tensor::FromVector<float>(Shape({kCurvePoints}), curve.x));
  NABLA_RETURN_IF_ERROR(it->second->Run({feed}, &fetched_));
  curve.y = ToVector(fetched_[0]);
  curve.dy = ToVector(fetched_[1]);
  return curve;
}

absl::StatusOr<SoftmaxCurves> ActivationCurves::Softmax(const CurveRange& range,
                                                        float z1, float z2) {
  NABLA_RETURN_IF_ERROR(ValidateRange(range));
  if (!std::isfinite(z1) || !std::isfinite(z2) || std::abs(z1) > kMaxAbsX ||
      std::abs(z2) > kMaxAbsX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "softmax's fixed logits must be finite and within [-", kMaxAbsX, ", ",
        kMaxAbsX, "], not z1=", z1, " and z2=", z2));
  }
  SoftmaxCurves curves;
  curves.x = Linspace(range.from, range.to);
  Tensor feed(DType::kF32, Shape({kCurvePoints, 3}));
  float* logits = feed.data<float>();
  for (int i = 0; i < kCurvePoints; ++i) {
    logits[3 * i] = curves.x[i];
    logits[3 * i + 1] = z1;
    logits[3 * i + 2] = z2;
  }
  NABLA_RETURN_IF_ERROR(softmax_->Run({feed}, &fetched_));
  const float* p = fetched_[0].data<float>();
  const float* dp0 = fetched_[1].data<float>();
  for (int j = 0; j < 3; ++j) {
    curves.p[j].resize(kCurvePoints);
    curves.dp0[j].resize(kCurvePoints);
    for (int i = 0; i < kCurvePoints; ++i) {
      curves.p[j][i] = p[3 * i + j];
      curves.dp0[j][i] = dp0[3 * i + j];
    }
  }
  return curves;
}

absl::StatusOr<CrossEntropyCurve> ActivationCurves::CrossEntropy() {
  CrossEntropyCurve curve;
  curve.p = Linspace(kMinProbability, kMaxProbability);
  curve.loss.resize(kCurvePoints);
  curve.dloss.resize(kCurvePoints);
  for (int i = 0; i < kCurvePoints; ++i) {
    NABLA_ASSIGN_OR_RETURN(auto point, CrossEntropyAt(curve.p[i]));
    curve.loss[i] = point[0];
    curve.dloss[i] = point[1];
  }
  return curve;
}

absl::StatusOr<std::array<float, 2>> ActivationCurves::CrossEntropyAt(float p) {
  if (!(p >= 0 && p <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a probability must be from 0 to 1, not ", p));
  }
  if (cross_entropy_feed_.empty()) {
    cross_entropy_feed_ = Tensor(DType::kF32, Shape({1}));
  }
  cross_entropy_feed_.data<float>()[0] = p;
  NABLA_RETURN_IF_ERROR(cross_entropy_->Run({cross_entropy_feed_}, &fetched_));
  return std::array<float, 2>{fetched_[0].data<float>()[0],
                              fetched_[1].data<float>()[0]};
}

}  // namespace nabla
