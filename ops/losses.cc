// SoftmaxCrossEntropy, CategoricalCrossEntropy, BinaryCrossEntropy,
// BinaryCrossEntropyWithLogits and their gradient ops.
//
// oneDNN has no loss primitives, and a loss touches each of N*C elements a
// few times, so these are plain loops. Per-example sums accumulate in double
// so that the mean of a large batch loses nothing to rounding.

#include "ops/losses.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/arith.h"
#include "ops/class_labels.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// Below this many elements, starting threads costs more than the loop.
constexpr int64_t kParallelElements = int64_t{1} << 15;

constexpr double kClipLow = kProbabilityEpsilon;
constexpr double kClipHigh = 1.0 - kProbabilityEpsilon;

double Clip(double p) { return std::min(std::max(p, kClipLow), kClipHigh); }

// Where clipping holds p constant its derivative is 0; at the bounds it
// passes, as TensorFlow's clip_by_value does.
bool Unclipped(double p) { return p >= kClipLow && p <= kClipHigh; }

absl::string_view ReductionName(Reduction reduction) {
  return reduction == Reduction::kSum ? "sum" : "mean";
}

absl::StatusOr<Reduction> ParseReduction(const AttrReader& attrs) {
  const std::string& name = attrs.GetString("reduction");
  if (name == "mean") return Reduction::kMean;
  if (name == "sum") return Reduction::kSum;
  return absl::InvalidArgumentError(absl::StrCat(
      "reduction must be \"mean\" or \"sum\", got \"", name, "\""));
}

// The factor applied to the summed loss. An empty batch keeps 1, so that
// its loss is 0 rather than 0/0.
double ReductionScale(Reduction reduction, int64_t count) {
  return reduction == Reduction::kMean && count > 0 ? 1.0 / count : 1.0;
}

// Scores [N,C] (input `scores`, called `what`) against class labels (input
// `labels`): indices [N] or probability rows [N,C].
absl::Status CheckClassInputs(const ShapeContext& c, int scores, int labels,
                              absl::string_view what) {
  return CheckClassLabels(c.input_shape(scores), c.input(labels), what);
}

// Elementwise losses: labels of the same shape as the values.
absl::Status CheckBinaryInputs(const ShapeContext& c, int values, int labels,
                               absl::string_view what) {
  const Shape& x = c.input_shape(values);
  const Shape& z = c.input_shape(labels);
  if (!z.IsCompatibleWith(x)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "labels ", z.ToString(), " must have the shape of ", what, " ",
        x.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckScalarDloss(const ShapeContext& c) {
  if (c.input_shape(0).rank() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dloss must be a scalar, got ", c.input_shape(0).ToString()));
  }
  return absl::OkStatus();
}

TensorSpec ScalarSpec() { return TensorSpec{DType::kF32, Shape()}; }

// Class labels as a kernel reads them: for row i, either one class index or
// a row of probabilities.
class ClassLabels {
 public:
  ClassLabels(const Tensor& labels, int64_t classes)
      : labels_(labels), classes_(classes) {}

  bool has_indices() const { return labels_.dtype() != DType::kF32; }

  // Fails on the first index outside [0, classes), before any output is
  // written.
  absl::Status Validate(int64_t rows) const {
    if (!has_indices()) return absl::OkStatus();
    for (int64_t i = 0; i < rows; ++i) {
      int64_t label = index(i);
      if (label < 0 || label >= classes_) {
        return absl::InvalidArgumentError(absl::StrCat(
            "labels[", i, "] = ", label, " is not a class index in [0, ",
            classes_, ")"));
      }
    }
    return absl::OkStatus();
  }

  int64_t index(int64_t i) const {
    return labels_.dtype() == DType::kI32 ? labels_.data<int32_t>()[i]
                                          : labels_.data<int64_t>()[i];
  }
  const float* row(int64_t i) const {
    return labels_.data<float>() + i * classes_;
  }

 private:
  const Tensor& labels_;
  int64_t classes_;
};

// ---------------------------------------------------------------------------
// SoftmaxCrossEntropy

// One row with label smoothing e > 0: the target is
// t = (1 - e) * z + e / classes, the loss -sum(t * log softmax(x)) and the
// backprop (softmax(x) - t) * scale. On entry `backprop`, when not null,
// holds exp(x - max); `sum` is their sum.
double SmoothedSoftmaxCrossEntropyRow(const float* x, int64_t classes,
                                      const ClassLabels& labels, int64_t i,
                                      double log_sum_exp, double sum,
                                      double smoothing, float scale,
                                      float* backprop) {
  const double uniform = smoothing / static_cast<double>(classes);
  const double keep = 1.0 - smoothing;
  double spread = 0;  // sum over classes of (log_sum_exp - x)
  for (int64_t j = 0; j < classes; ++j) spread += log_sum_exp - x[j];
  double loss = uniform * spread;
  auto target = [&](int64_t j) {
    if (labels.has_indices()) {
      return uniform + (j == labels.index(i) ? keep : 0.0);
    }
    return uniform + keep * labels.row(i)[j];
  };
  if (labels.has_indices()) {
    loss += keep * (log_sum_exp - x[labels.index(i)]);
  } else {
    const float* z = labels.row(i);
    for (int64_t j = 0; j < classes; ++j) {
      if (z[j] != 0) loss += keep * z[j] * (log_sum_exp - x[j]);
    }
  }
  if (backprop != nullptr) {
    for (int64_t j = 0; j < classes; ++j) {
      backprop[j] = static_cast<float>((backprop[j] / sum - target(j)) * scale);
    }
  }
  return loss;
}

// One row: returns -sum(z * log softmax(x)) through log-sum-exp and, if
// `backprop` is not null, writes (softmax(x) - z) * scale into it; with
// `smoothing` > 0, z is smoothed first (see SmoothedSoftmaxCrossEntropyRow).
double SoftmaxCrossEntropyRow(const float* x, int64_t classes,
                              const ClassLabels& labels, int64_t i,
                              double smoothing, float scale, float* backprop) {
  float max = x[0];
  for (int64_t j = 1; j < classes; ++j) max = std::max(max, x[j]);
  double sum = 0;
  for (int64_t j = 0; j < classes; ++j) {
    float e = std::exp(x[j] - max);
    sum += e;
    if (backprop != nullptr) backprop[j] = e;
  }
  const double log_sum_exp = max + std::log(sum);
  if (smoothing != 0) {
    return SmoothedSoftmaxCrossEntropyRow(x, classes, labels, i, log_sum_exp,
                                          sum, smoothing, scale, backprop);
  }
  const float inv_sum = static_cast<float>(1.0 / sum);
  double loss = 0;
  if (labels.has_indices()) {
    const int64_t label = labels.index(i);
    loss = log_sum_exp - x[label];
    if (backprop != nullptr) {
      for (int64_t j = 0; j < classes; ++j) backprop[j] *= inv_sum * scale;
      backprop[label] -= scale;
    }
  } else {
    const float* z = labels.row(i);
    for (int64_t j = 0; j < classes; ++j) {
      // Skipped rather than multiplied so that a -inf logit of a class the
      // labels exclude gives 0, not 0 * inf.
      if (z[j] != 0) loss += z[j] * (log_sum_exp - x[j]);
    }
    if (backprop != nullptr) {
      for (int64_t j = 0; j < classes; ++j) {
        backprop[j] = (backprop[j] * inv_sum - z[j]) * scale;
      }
    }
  }
  return loss;
}

// Outputs: the loss and its gradient with respect to the logits for a
// dloss of 1. The gradient is skipped when nothing reads it (inference).
class SoftmaxCrossEntropyKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const KernelContext& c) {
    NABLA_ASSIGN_OR_RETURN(Reduction reduction, ParseReduction(c));
    auto k = std::make_unique<SoftmaxCrossEntropyKernel>();
    k->rows_ = c.input_shape(0)[0];
    k->classes_ = c.input_shape(0)[1];
    k->scale_ = ReductionScale(reduction, k->rows_);
    k->smoothing_ = c.GetFloat("label_smoothing");
    k->write_backprop_ = c.output_used(1);
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    ClassLabels labels(args.input(1), classes_);
    NABLA_RETURN_IF_ERROR(labels.Validate(rows_));
    const float* logits = args.input(0).data<float>();
    float* backprop = write_backprop_ ? args.output(1).data<float>() : nullptr;
    const float scale = static_cast<float>(scale_);
    const double smoothing = smoothing_;
    const int64_t rows = rows_, classes = classes_;
    double total = 0;
#pragma omp parallel for reduction(+ : total) if (rows * classes >= kParallelElements)
    for (int64_t i = 0; i < rows; ++i) {
      total += SoftmaxCrossEntropyRow(
          logits + i * classes, classes, labels, i, smoothing, scale,
          backprop != nullptr ? backprop + i * classes : nullptr);
    }
    args.output(0).data<float>()[0] = static_cast<float>(total * scale_);
    return absl::OkStatus();
  }

 private:
  int64_t rows_ = 0;
  int64_t classes_ = 0;
  double scale_ = 1;
  double smoothing_ = 0;
  bool write_backprop_ = true;
};

NABLA_REGISTER_OP(
    OpSchema("SoftmaxCrossEntropy")
        .Input("logits")
        .Input("labels", {DType::kF32, DType::kI32, DType::kI64})
        .Output("loss")
        .Output("backprop")
        .Attr("reduction", AttrType::kString, StringAttr("mean"))
        .Attr("label_smoothing", AttrType::kFloat, FloatAttr(0))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(ParseReduction(c).status());
          const float smoothing = c.GetFloat("label_smoothing");
          if (!(smoothing >= 0 && smoothing <= 1)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "label_smoothing must lie in [0, 1], got ", smoothing));
          }
          NABLA_RETURN_IF_ERROR(CheckClassInputs(c, 0, 1, "logits"));
          return std::vector<TensorSpec>{ScalarSpec(), c.input(0)};
        })
        .SetKernel(&SoftmaxCrossEntropyKernel::Create)
        .SetGradient([](const GradContext& g) -> GradResult {
          if (g.has_dy(1)) {
            return absl::UnimplementedError(
                "the backprop output is itself a gradient, and nabla does "
                "not take second derivatives");
          }
          return std::vector<Output>{
              Mul(g.y(1), g.dy(0),
                  g.builder()->UniqueName(g.GradName("dlogits"))),
              Output()};
        }));

// ---------------------------------------------------------------------------
// CategoricalCrossEntropy

double CategoricalCrossEntropyRow(const float* p, int64_t classes,
                                  const ClassLabels& labels, int64_t i) {
  if (labels.has_indices()) return -std::log(Clip(p[labels.index(i)]));
  const float* z = labels.row(i);
  double loss = 0;
  for (int64_t j = 0; j < classes; ++j) {
    if (z[j] != 0) loss -= z[j] * std::log(Clip(p[j]));
  }
  return loss;
}

// d/dp of -z * log(clip(p)), times `coeff` (dloss and the reduction's
// scale).
void CategoricalCrossEntropyGradRow(const float* p, int64_t classes,
                                    const ClassLabels& labels, int64_t i,
                                    double coeff, float* dp) {
  if (labels.has_indices()) {
    std::fill(dp, dp + classes, 0.0f);
    const int64_t label = labels.index(i);
    if (Unclipped(p[label])) dp[label] = static_cast<float>(-coeff / p[label]);
    return;
  }
  const float* z = labels.row(i);
  for (int64_t j = 0; j < classes; ++j) {
    dp[j] = z[j] != 0 && Unclipped(p[j])
                ? static_cast<float>(-coeff * z[j] / p[j])
                : 0.0f;
  }
}

// Serves CategoricalCrossEntropy (inputs probs, labels) and its gradient op
// (inputs dloss, probs, labels).
class CategoricalCrossEntropyKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const KernelContext& c,
                                                        bool gradient) {
    NABLA_ASSIGN_OR_RETURN(Reduction reduction, ParseReduction(c));
    auto k = std::make_unique<CategoricalCrossEntropyKernel>();
    k->gradient_ = gradient;
    const Shape& probs = c.input_shape(gradient ? 1 : 0);
    k->rows_ = probs[0];
    k->classes_ = probs[1];
    k->scale_ = ReductionScale(reduction, k->rows_);
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    const int first = gradient_ ? 1 : 0;
    const float* probs = args.input(first).data<float>();
    ClassLabels labels(args.input(first + 1), classes_);
    NABLA_RETURN_IF_ERROR(labels.Validate(rows_));
    const int64_t rows = rows_, classes = classes_;
    if (gradient_) {
      const double coeff = args.input(0).data<float>()[0] * scale_;
      float* dprobs = args.output(0).data<float>();
#pragma omp parallel for if (rows * classes >= kParallelElements)
      for (int64_t i = 0; i < rows; ++i) {
        CategoricalCrossEntropyGradRow(probs + i * classes, classes, labels, i,
                                       coeff, dprobs + i * classes);
      }
      return absl::OkStatus();
    }
    double total = 0;
#pragma omp parallel for reduction(+ : total) if (rows * classes >= kParallelElements)
    for (int64_t i = 0; i < rows; ++i) {
      total += CategoricalCrossEntropyRow(probs + i * classes, classes, labels, i);
    }
    args.output(0).data<float>()[0] = static_cast<float>(total * scale_);
    return absl::OkStatus();
  }

 private:
  bool gradient_ = false;
  int64_t rows_ = 0;
  int64_t classes_ = 0;
  double scale_ = 1;
};

NABLA_REGISTER_OP(
    OpSchema("CategoricalCrossEntropy")
        .Input("probs")
        .Input("labels", {DType::kF32, DType::kI32, DType::kI64})
        .Output("loss")
        .Attr("reduction", AttrType::kString, StringAttr("mean"))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(ParseReduction(c).status());
          NABLA_RETURN_IF_ERROR(CheckClassInputs(c, 0, 1, "probs"));
          return std::vector<TensorSpec>{ScalarSpec()};
        })
        .SetKernel([](const KernelContext& c) {
          return CategoricalCrossEntropyKernel::Create(c, /*gradient=*/false);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          return std::vector<Output>{
              g.builder()->AddOp1(
                  "CategoricalCrossEntropyGrad", {g.dy(0), g.x(0), g.x(1)},
                  {{"reduction", StringAttr(g.GetString("reduction"))}},
                  g.builder()->UniqueName(g.GradName("dprobs"))),
              Output()};
        }));

NABLA_REGISTER_OP(
    OpSchema("CategoricalCrossEntropyGrad")
        .Input("dloss")
        .Input("probs")
        .Input("labels", {DType::kF32, DType::kI32, DType::kI64})
        .Output("dprobs")
        .Attr("reduction", AttrType::kString, StringAttr("mean"))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(ParseReduction(c).status());
          NABLA_RETURN_IF_ERROR(CheckScalarDloss(c));
          NABLA_RETURN_IF_ERROR(CheckClassInputs(c, 1, 2, "probs"));
          return std::vector<TensorSpec>{c.input(1)};
        })
        .SetKernel([](const KernelContext& c) {
          return CategoricalCrossEntropyKernel::Create(c, /*gradient=*/true);
        })
        .IsGradientOp());

// ---------------------------------------------------------------------------
// BinaryCrossEntropy and BinaryCrossEntropyWithLogits

double BinaryCrossEntropyAt(float p, float z) {
  const double q = Clip(p);
  return -(z * std::log(q) + (1.0 - z) * std::log(1.0 - q));
}

double BinaryCrossEntropyGradAt(float p, float z) {
  if (!Unclipped(p)) return 0;
  return -z / static_cast<double>(p) + (1.0 - z) / (1.0 - p);
}

// Never exponentiates a positive number, so any logit gives a finite loss.
double BinaryCrossEntropyWithLogitsAt(float x, float z) {
  return std::max(x, 0.0f) - static_cast<double>(x) * z +
         std::log1p(std::exp(-std::abs(static_cast<double>(x))));
}

double BinaryCrossEntropyWithLogitsGradAt(float x, float z) {
  const double e = std::exp(-std::abs(static_cast<double>(x)));
  const double sigmoid = x >= 0 ? 1 / (1 + e) : e / (1 + e);
  return sigmoid - z;
}

using ElementLoss = double (*)(float, float);

// Serves the binary losses and their gradient ops: the forward kernel
// (inputs values, labels) sums `loss`, the gradient kernel (inputs dloss,
// values, labels) writes `grad` scaled by dloss.
class ElementwiseLossKernel : public Kernel {
 public:
  static KernelFactory Factory(ElementLoss loss, ElementLoss grad,
                               bool gradient) {
    return [=](const KernelContext& c) -> absl::StatusOr<std::unique_ptr<Kernel>> {
      NABLA_ASSIGN_OR_RETURN(Reduction reduction, ParseReduction(c));
      auto k = std::make_unique<ElementwiseLossKernel>();
      k->fn_ = gradient ? grad : loss;
      k->gradient_ = gradient;
      k->count_ = c.input_shape(gradient ? 1 : 0).NumElements();
      k->scale_ = ReductionScale(reduction, k->count_);
      return std::unique_ptr<Kernel>(std::move(k));
    };
  }

  absl::Status Compute(const KernelArgs& args) override {
    const int first = gradient_ ? 1 : 0;
    const float* x = args.input(first).data<float>();
    const float* z = args.input(first + 1).data<float>();
    const int64_t n = count_;
    const ElementLoss fn = fn_;
    if (gradient_) {
      const double coeff = args.input(0).data<float>()[0] * scale_;
      float* dx = args.output(0).data<float>();
#pragma omp parallel for if (n >= kParallelElements)
      for (int64_t i = 0; i < n; ++i) {
        dx[i] = static_cast<float>(coeff * fn(x[i], z[i]));
      }
      return absl::OkStatus();
    }
    double total = 0;
#pragma omp parallel for reduction(+ : total) if (n >= kParallelElements)
    for (int64_t i = 0; i < n; ++i) total += fn(x[i], z[i]);
    args.output(0).data<float>()[0] = static_cast<float>(total * scale_);
    return absl::OkStatus();
  }

 private:
  ElementLoss fn_ = nullptr;
  bool gradient_ = false;
  int64_t count_ = 0;
  double scale_ = 1;
};

// The forward op `name` on input `what` and its gradient op `name`Grad.
OpSchema BinaryLossOp(const std::string& name, const std::string& what,
                      ElementLoss loss, ElementLoss grad) {
  std::string grad_name = name + "Grad";
  return OpSchema(name)
      .Input(what)
      .Input("labels")
      .Output("loss")
      .Attr("reduction", AttrType::kString, StringAttr("mean"))
      .SetShapeFn([what](const ShapeContext& c) -> SpecList {
        NABLA_RETURN_IF_ERROR(ParseReduction(c).status());
        NABLA_RETURN_IF_ERROR(CheckBinaryInputs(c, 0, 1, what));
        return std::vector<TensorSpec>{ScalarSpec()};
      })
      .SetKernel(ElementwiseLossKernel::Factory(loss, grad, false))
      .SetGradient([grad_name, what](const GradContext& g) -> GradResult {
        return std::vector<Output>{
            g.builder()->AddOp1(
                grad_name, {g.dy(0), g.x(0), g.x(1)},
                {{"reduction", StringAttr(g.GetString("reduction"))}},
                g.builder()->UniqueName(g.GradName("d" + what))),
            Output()};
      });
}

OpSchema BinaryLossGradOp(const std::string& name, const std::string& what,
                          ElementLoss loss, ElementLoss grad) {
  return OpSchema(name + "Grad")
      .Input("dloss")
      .Input(what)
      .Input("labels")
      .Output("d" + what)
      .Attr("reduction", AttrType::kString, StringAttr("mean"))
      .SetShapeFn([what](const ShapeContext& c) -> SpecList {
        NABLA_RETURN_IF_ERROR(ParseReduction(c).status());
        NABLA_RETURN_IF_ERROR(CheckScalarDloss(c));
        NABLA_RETURN_IF_ERROR(CheckBinaryInputs(c, 1, 2, what));
        return std::vector<TensorSpec>{c.input(1)};
      })
      .SetKernel(ElementwiseLossKernel::Factory(loss, grad, true))
      .IsGradientOp();
}

NABLA_REGISTER_OP(BinaryLossOp("BinaryCrossEntropy", "probs",
                               BinaryCrossEntropyAt, BinaryCrossEntropyGradAt));
NABLA_REGISTER_OP(BinaryLossGradOp("BinaryCrossEntropy", "probs",
                                   BinaryCrossEntropyAt,
                                   BinaryCrossEntropyGradAt));
NABLA_REGISTER_OP(BinaryLossOp("BinaryCrossEntropyWithLogits", "logits",
                               BinaryCrossEntropyWithLogitsAt,
                               BinaryCrossEntropyWithLogitsGradAt));
NABLA_REGISTER_OP(BinaryLossGradOp("BinaryCrossEntropyWithLogits", "logits",
                                   BinaryCrossEntropyWithLogitsAt,
                                   BinaryCrossEntropyWithLogitsGradAt));

AttrMap ReductionAttrs(Reduction reduction) {
  return {{"reduction", StringAttr(ReductionName(reduction))}};
}

}  // namespace

Output SoftmaxCrossEntropy(Output logits, Output labels, Reduction reduction,
                           absl::string_view name) {
  return MakeOp("SoftmaxCrossEntropy", {logits, labels},
                ReductionAttrs(reduction), name);
}
Output SoftmaxCrossEntropy(Output logits, Output labels, float label_smoothing,
                           Reduction reduction, absl::string_view name) {
  AttrMap attrs = ReductionAttrs(reduction);
  attrs["label_smoothing"] = FloatAttr(label_smoothing);
  return MakeOp("SoftmaxCrossEntropy", {logits, labels}, std::move(attrs),
                name);
}
Output CategoricalCrossEntropy(Output probs, Output labels,
                               Reduction reduction, absl::string_view name) {
  return MakeOp("CategoricalCrossEntropy", {probs, labels},
                ReductionAttrs(reduction), name);
}
Output BinaryCrossEntropy(Output probs, Output labels, Reduction reduction,
                          absl::string_view name) {
  return MakeOp("BinaryCrossEntropy", {probs, labels},
                ReductionAttrs(reduction), name);
}
Output BinaryCrossEntropyWithLogits(Output logits, Output labels,
                                    Reduction reduction,
                                    absl::string_view name) {
  return MakeOp("BinaryCrossEntropyWithLogits", {logits, labels},
                ReductionAttrs(reduction), name);
}
Output CategoricalCrossEntropyGrad(Output dloss, Output probs, Output labels,
                                   Reduction reduction,
                                   absl::string_view name) {
  return MakeOp("CategoricalCrossEntropyGrad", {dloss, probs, labels},
                ReductionAttrs(reduction), name);
}
Output BinaryCrossEntropyGrad(Output dloss, Output probs, Output labels,
                              Reduction reduction, absl::string_view name) {
  return MakeOp("BinaryCrossEntropyGrad", {dloss, probs, labels},
                ReductionAttrs(reduction), name);
}
Output BinaryCrossEntropyWithLogitsGrad(Output dloss, Output logits,
                                        Output labels, Reduction reduction,
                                        absl::string_view name) {
  return MakeOp("BinaryCrossEntropyWithLogitsGrad", {dloss, logits, labels},
                ReductionAttrs(reduction), name);
}

}  // namespace nabla
