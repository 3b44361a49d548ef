// The curves of the lecture's second half, computed by nabla itself: each
// activation function and its derivative, softmax and its Jacobian, and the
// binary cross-entropy of the true class's predicted probability. Every value
// comes from nabla's ops and every derivative from Gradients() (reverse-mode
// autodiff), not from a closed-form formula, so the demo page plots what the
// engine really computes when it trains.
//
//   NABLA_ASSIGN_OR_RETURN(auto curves, ActivationCurves::Create());
//   CurveRange range;  // x from -6 to 6
//   NABLA_ASSIGN_OR_RETURN(Curve tanh, curves->Activation("tanh", range, 0));
//   // tanh.y[i] = tanh(x[i]), tanh.dy[i] = 1 - tanh(x[i])^2.
//
// Create() builds one graph and compiles every plan once; the queries only
// feed and run them. Not thread-safe (a Session is not): callers serialize.

#ifndef NABLA_EXAMPLES_DEMO_ACTIVATION_CURVES_H_
#define NABLA_EXAMPLES_DEMO_ACTIVATION_CURVES_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/session.h"

namespace nabla {

// kCurvePoints is how many points every curve has.
inline constexpr int kCurvePoints = 241;

// kActivationNames are the element-wise activations, in the lecture's order.
inline constexpr std::array<absl::string_view, 5> kActivationNames = {
    "linear", "sigmoid", "tanh", "relu", "leaky_relu"};

// kLeakyReluAlphas are the slopes for x < 0 that leaky ReLU is compiled for
// (alpha is an attribute of the op, fixed when a graph is built): PyTorch's
// default 0.01, then 0.05 to 0.5 in steps of 0.05 (nabla's default is 0.2,
// Keras's 0.3).
inline constexpr std::array<float, 11> kLeakyReluAlphas = {
    0.01f, 0.05f, 0.1f, 0.15f, 0.2f, 0.25f, 0.3f, 0.35f, 0.4f, 0.45f, 0.5f};

// CurveRange is the interval the x values span, both ends included.
struct CurveRange {
  double from = -6;
  double to = 6;
};

// Curve is y = f(x) and dy/dx at kCurvePoints evenly spaced x.
struct Curve {
  std::vector<float> x, y, dy;
};

// SoftmaxCurves is softmax over the three logits (x, z1, z2) as x sweeps the
// range with z1, z2 held: the three probabilities and the derivatives of the
// first, d p0 / d z_j, at each x.
struct SoftmaxCurves {
  std::vector<float> x;
  std::array<std::vector<float>, 3> p;
  std::array<std::vector<float>, 3> dp0;
};

// CrossEntropyCurve is the binary cross-entropy -log(p) of a true class
// predicted with probability p, and its derivative -1/p, for p in (0, 1].
struct CrossEntropyCurve {
  std::vector<float> p, loss, dloss;
};

class ActivationCurves {
 public:
  // Create builds the graph and compiles every plan.
  static absl::StatusOr<std::unique_ptr<ActivationCurves>> Create();

  // Activation evaluates `name` (one of kActivationNames) and its
  // derivative over `range`; `alpha` is leaky ReLU's slope and must be one
  // of kLeakyReluAlphas (it is ignored by the other functions).
  // InvalidArgument for an unknown name, alpha or range.
  absl::StatusOr<Curve> Activation(absl::string_view name,
                                   const CurveRange& range, float alpha);

  // Softmax evaluates softmax([x, z1, z2]) over `range`. InvalidArgument for
  // a bad range or non-finite logits.
  absl::StatusOr<SoftmaxCurves> Softmax(const CurveRange& range, float z1,
                                        float z2);

  // CrossEntropy evaluates -log(p) with nabla's BinaryCrossEntropy (label
  // 1) at kCurvePoints values of p from 0.001 to 1.
  absl::StatusOr<CrossEntropyCurve> CrossEntropy();

  // CrossEntropyAt evaluates the loss and its derivative at one p, such as
  // a prediction's probability of the true class: one point of the same
  // curve. InvalidArgument unless 0 <= p <= 1 (p below 1e-7 is clipped, as
  // training clips it).
  absl::StatusOr<std::array<float, 2>> CrossEntropyAt(float p);

 private:
  ActivationCurves() = default;

  // Each plan feeds x (f32 [kCurvePoints]; [kCurvePoints, 3] for softmax)
  // and fetches the value and its gradient.
  std::unique_ptr<Session> session_;
  // "linear", ..., and "leaky_relu/<index into kLeakyReluAlphas>".
  absl::flat_hash_map<std::string, Plan*> activations_;
  Plan* softmax_ = nullptr;
  // Compiled for one probability: the loss is a scalar, so each point of
  // the curve is its own run.
  Plan* cross_entropy_ = nullptr;
  Tensor x_feed_, z_feed_, p_feed_;
  std::vector<Tensor> fetched_;
};

// ValidateRange is OK for a finite range with from < to and both ends
// within [-100, 100]; InvalidArgument naming the problem otherwise.
absl::Status ValidateRange(const CurveRange& range);

// LeakyReluAlphaIndex finds `alpha` in kLeakyReluAlphas (to 1e-4), or
// InvalidArgument listing the values there are.
absl::StatusOr<int> LeakyReluAlphaIndex(float alpha);

}  // namespace nabla

#endif  // NABLA_EXAMPLES_DEMO_ACTIVATION_CURVES_H_
