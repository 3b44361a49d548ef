#include "ops/losses.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/arith.h"
#include "ops/softmax.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Double-precision references.

double Scale(Reduction reduction, int64_t count) {
  return reduction == Reduction::kMean && count > 0 ? 1.0 / count : 1.0;
}

// Labels of either form as dense [N,C] targets.
std::vector<double> DenseTargets(const Tensor& labels, int64_t rows,
                                 int64_t classes) {
  if (labels.dtype() == DType::kF32) {
    return std::vector<double>(labels.data<float>(),
                               labels.data<float>() + rows * classes);
  }
  std::vector<double> z(rows * classes, 0.0);
  std::vector<double> indices = ::nabla::testing::ToDoubles(labels);
  for (int64_t i = 0; i < rows; ++i) {
    z[i * classes + static_cast<int64_t>(indices[i])] = 1.0;
  }
  return z;
}

double ClipProbability(double p) {
  return std::min(std::max(p, 1e-7), 1.0 - 1e-7);
}
bool Unclipped(double p) { return p >= 1e-7 && p <= 1.0 - 1e-7; }

// The loss of SoftmaxCrossEntropy and its gradient with respect to the
// logits.
struct Reference {
  double loss = 0;
  std::vector<double> grad;
};

Reference ReferenceSoftmaxXent(const Tensor& logits, const Tensor& labels,
                               Reduction reduction) {
  const int64_t n = logits.shape()[0], c = logits.shape()[1];
  std::vector<double> z = DenseTargets(labels, n, c);
  const double scale = Scale(reduction, n);
  Reference ref;
  ref.grad.resize(n * c);
  for (int64_t i = 0; i < n; ++i) {
    const float* x = logits.data<float>() + i * c;
    double max = *std::max_element(x, x + c);
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += std::exp(x[j] - max);
    double lse = max + std::log(sum);
    for (int64_t j = 0; j < c; ++j) {
      if (z[i * c + j] != 0) ref.loss += z[i * c + j] * (lse - x[j]);
      ref.grad[i * c + j] =
          (std::exp(x[j] - max) / sum - z[i * c + j]) * scale;
    }
  }
  ref.loss *= scale;
  return ref;
}

Reference ReferenceCategorical(const Tensor& probs, const Tensor& labels,
                               Reduction reduction) {
  const int64_t n = probs.shape()[0], c = probs.shape()[1];
  std::vector<double> z = DenseTargets(labels, n, c);
  const double scale = Scale(reduction, n);
  Reference ref;
  ref.grad.resize(n * c);
  for (int64_t k = 0; k < n * c; ++k) {
    double p = probs.data<float>()[k];
    if (z[k] != 0) ref.loss -= z[k] * std::log(ClipProbability(p));
    ref.grad[k] = z[k] != 0 && Unclipped(p) ? -z[k] / p * scale : 0.0;
  }
  ref.loss *= scale;
  return ref;
}

Reference ReferenceBinary(const Tensor& probs, const Tensor& labels,
                          Reduction reduction) {
  const int64_t n = probs.num_elements();
  const double scale = Scale(reduction, n);
  Reference ref;
  for (int64_t k = 0; k < n; ++k) {
    double p = probs.data<float>()[k], z = labels.data<float>()[k];
    double q = ClipProbability(p);
    ref.loss -= z * std::log(q) + (1 - z) * std::log(1 - q);
    ref.grad.push_back(Unclipped(p) ? (-z / p + (1 - z) / (1 - p)) * scale
                                    : 0.0);
  }
  ref.loss *= scale;
  return ref;
}

Reference ReferenceBinaryLogits(const Tensor& logits, const Tensor& labels,
                                Reduction reduction) {
  const int64_t n = logits.num_elements();
  const double scale = Scale(reduction, n);
  Reference ref;
  for (int64_t k = 0; k < n; ++k) {
    double x = logits.data<float>()[k], z = labels.data<float>()[k];
    // log(1 + exp(-x)) + (1 - z) * x, rewritten so exp never overflows.
    ref.loss += std::max(x, 0.0) - x * z + std::log1p(std::exp(-std::abs(x)));
    ref.grad.push_back((1 / (1 + std::exp(-x)) - z) * scale);
  }
  ref.loss *= scale;
  return ref;
}

// Rows of random positive weights summing to 1: soft labels.
Tensor ProbabilityRows(int64_t rows, int64_t classes, uint64_t seed) {
  Tensor t = RandomTensor({rows, classes}, seed, 0.05f, 1.0f);
  for (int64_t i = 0; i < rows; ++i) {
    float* row = t.data<float>() + i * classes;
    float sum = 0;
    for (int64_t j = 0; j < classes; ++j) sum += row[j];
    for (int64_t j = 0; j < classes; ++j) row[j] /= sum;
  }
  return t;
}

Tensor I32(const Shape& shape, std::initializer_list<int32_t> values) {
  return *Tensor::FromVector<int32_t>(shape, values);
}
Tensor I64(const Shape& shape, std::initializer_list<int64_t> values) {
  return *Tensor::FromVector<int64_t>(shape, values);
}
Tensor F32(const Shape& shape, std::initializer_list<float> values) {
  return *Tensor::FromVector<float>(shape, values);
}

const Reduction kReductions[] = {Reduction::kMean, Reduction::kSum};

std::string ReductionName(Reduction r) {
  return r == Reduction::kMean ? "mean" : "sum";
}

void ExpectAllFinite(const Tensor& t) {
  for (float v : t.flat<float>()) EXPECT_TRUE(std::isfinite(v)) << v;
}

// The loss and the gradient of the loss with respect to `x` for one loss
// function of (x, labels).
using LossFn = Output (*)(Output, Output, Reduction, absl::string_view);

void RunLossAndGradient(LossFn loss_fn, const Tensor& x, const Tensor& labels,
                        Reduction reduction, std::vector<Tensor>* out) {
  GraphBuilder b;
  Output xp = b.Placeholder("x", x.shape());
  Output zp = b.Placeholder("labels", labels.shape(), labels.dtype());
  Output loss = loss_fn(xp, zp, reduction, "loss");
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads, Gradients(loss, {xp}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      *out, RunOnce(b, {{xp, x}, {zp, labels}}, {loss, grads[0]}));
}

// ---------------------------------------------------------------------------
// Shape inference.

struct ShapeCase {
  const char* op;
  Shape x;
  Shape labels;
  DType labels_dtype;
  const char* reduction;
  const char* error;  // a substring of the message, or "" for success
};

TEST(LossShapeTest, InfersScalarLossOrExplains) {
  const Shape kAny2 = {kUnknownDim, 10};
  const ShapeCase cases[] = {
      {"SoftmaxCrossEntropy", kAny2, {kUnknownDim}, DType::kI64, "mean", ""},
      {"SoftmaxCrossEntropy", {4, 10}, {4}, DType::kI32, "sum", ""},
      {"SoftmaxCrossEntropy", kAny2, kAny2, DType::kF32, "mean", ""},
      {"SoftmaxCrossEntropy", {4, 10}, {kUnknownDim}, DType::kI64, "mean", ""},
      {"SoftmaxCrossEntropy", {4, 10}, {5}, DType::kI64, "mean",
       "got 5 labels for a batch of 4"},
      {"SoftmaxCrossEntropy", {4, 10}, {4, 1}, DType::kI64, "mean",
       "class-index labels must be rank 1 [batch], got [4,1]"},
      {"SoftmaxCrossEntropy", {4, 10}, {4, 9}, DType::kF32, "mean",
       "labels have 9 classes but logits have 10"},
      {"SoftmaxCrossEntropy", {4, 10}, {3, 10}, DType::kF32, "mean",
       "got 3 label rows for a batch of 4"},
      {"SoftmaxCrossEntropy", {4, 10}, {4}, DType::kF32, "mean",
       "f32 labels must be rows of class probabilities or one-hot rows [batch, classes], got [4]"},
      {"SoftmaxCrossEntropy", {4, 10, 2}, {4}, DType::kI64, "mean",
       "logits must be rank 2 [batch, classes], got [4,10,2]"},
      {"SoftmaxCrossEntropy", {10}, {1}, DType::kI64, "mean",
       "logits must be rank 2 [batch, classes], got [10]"},
      {"SoftmaxCrossEntropy", {4, 0}, {4}, DType::kI64, "mean",
       "logits must have at least one class, got [4,0]"},
      {"SoftmaxCrossEntropy", {4, 10}, {4}, DType::kU8, "mean",
       "input 'labels' must be f32 or i32 or i64, got u8"},
      {"SoftmaxCrossEntropy", {4, 10}, {4}, DType::kI64, "avg",
       "reduction must be \"mean\" or \"sum\", got \"avg\""},
      {"CategoricalCrossEntropy", {kUnknownDim, 3}, {kUnknownDim}, DType::kI32,
       "mean", ""},
      {"CategoricalCrossEntropy", {4, 3}, {4, 3}, DType::kF32, "sum", ""},
      {"CategoricalCrossEntropy", {4, 3}, {4, 2}, DType::kF32, "mean",
       "labels have 2 classes but probs have 3"},
      {"CategoricalCrossEntropy", {4, 3}, {2}, DType::kI64, "mean",
       "got 2 labels for a batch of 4"},
      {"CategoricalCrossEntropy", {3}, {3}, DType::kF32, "mean",
       "probs must be rank 2 [batch, classes], got [3]"},
      {"BinaryCrossEntropy", {kUnknownDim, 1}, {kUnknownDim, 1}, DType::kF32,
       "mean", ""},
      {"BinaryCrossEntropy", {8}, {8}, DType::kF32, "sum", ""},
      {"BinaryCrossEntropy", {4, 1}, {4}, DType::kF32, "mean",
       "labels [4] must have the shape of probs [4,1]"},
      {"BinaryCrossEntropy", {4}, {4}, DType::kI32, "mean",
       "input 'labels' must be f32, got i32"},
      {"BinaryCrossEntropy", {4}, {4}, DType::kF32, "none",
       "reduction must be \"mean\" or \"sum\", got \"none\""},
      {"BinaryCrossEntropyWithLogits", {4, 2}, {4, 2}, DType::kF32, "mean", ""},
      {"BinaryCrossEntropyWithLogits", {4, 2}, {4, 3}, DType::kF32, "mean",
       "labels [4,3] must have the shape of logits [4,2]"},
  };
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.op, " ", c.x.ToString(), " ",
                              c.labels.ToString(), " ",
                              DTypeName(c.labels_dtype), " ", c.reduction));
    GraphBuilder b;
    std::vector<Output> outs = b.AddOp(
        c.op,
        {b.Placeholder("x", c.x), b.Placeholder("labels", c.labels, c.labels_dtype)},
        {{"reduction", StringAttr(c.reduction)}}, "loss");
    if (*c.error != '\0') {
      EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(c.error)));
      continue;
    }
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(outs[0].spec(), (TensorSpec{DType::kF32, Shape()}));
    if (outs.size() > 1) {  // SoftmaxCrossEntropy's backprop
      EXPECT_EQ(outs[1].spec(), (TensorSpec{DType::kF32, c.x}));
    }
  }
}

TEST(LossShapeTest, MessageNamesNodeAndInputs) {
  GraphBuilder b;
  SoftmaxCrossEntropy(b.Placeholder("logits", {4, 10}),
                      b.Placeholder("labels", {5}, DType::kI64),
                      Reduction::kMean, "xent");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SoftmaxCrossEntropy node 'xent' (inputs "
                                 "f32[4,10], i64[5]): got 5 labels for a "
                                 "batch of 4")));
}

TEST(LossShapeTest, RejectsIntegerLogits) {
  GraphBuilder b;
  SoftmaxCrossEntropy(b.Placeholder("logits", {4, 10}, DType::kI32),
                      b.Placeholder("labels", {4}, DType::kI64));
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'logits' must be f32, got i32")));
}

TEST(LossShapeTest, GradientOpsNeedScalarDloss) {
  GraphBuilder b;
  Output probs = b.Placeholder("probs", {4, 3});
  CategoricalCrossEntropyGrad(b.Placeholder("dloss", {2}), probs,
                              b.Placeholder("labels", {4}, DType::kI64),
                              Reduction::kMean);
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("dloss must be a scalar, got [2]")));
  GraphBuilder b2;
  Output dx = BinaryCrossEntropyWithLogitsGrad(
      b2.Placeholder("dloss", {}), b2.Placeholder("x", {kUnknownDim, 2}),
      b2.Placeholder("z", {kUnknownDim, 2}), Reduction::kSum);
  ASSERT_TRUE(b2.ok()) << b2.status();
  EXPECT_EQ(dx.shape(), Shape({kUnknownDim, 2}));
}

// ---------------------------------------------------------------------------
// SoftmaxCrossEntropy forward.

// Logits [6,5] whose first three rows are extreme.
Tensor XentLogits() {
  Tensor t = RandomTensor({6, 5}, 1, -3, 3);
  const float extreme[] = {100, -100, 0, 99, -50,             //
                           -100, -100, -100, -100, -100,      //
                           1000, -1000, 1000, 999, -1000};
  std::copy(std::begin(extreme), std::end(extreme), t.data<float>());
  return t;
}

TEST(SoftmaxCrossEntropyTest, MatchesReferenceForEveryLabelForm) {
  const Tensor logits = XentLogits();
  const Tensor label_forms[] = {
      I32({6}, {1, 0, 2, 3, 4, 0}),  // row 0 picks the -100 logit: loss 200
      I64({6}, {0, 4, 3, 1, 1, 2}),
      ProbabilityRows(6, 5, 2),
  };
  for (const Tensor& labels : label_forms) {
    for (Reduction reduction : kReductions) {
      SCOPED_TRACE(absl::StrCat(DTypeName(labels.dtype()), " labels, ",
                                ReductionName(reduction)));
      GraphBuilder b;
      Output x = b.Placeholder("logits", {kUnknownDim, 5});
      Output z = b.Placeholder("labels", labels.shape(), labels.dtype());
      Output loss = SoftmaxCrossEntropy(x, z, reduction, "xent");
      NABLA_ASSERT_OK_AND_ASSIGN(Output backprop, b.Find("xent:1"));
      Reference ref = ReferenceSoftmaxXent(logits, labels, reduction);
      // Training fetches both outputs; inference only the loss, and the
      // kernel then skips the gradient.
      NABLA_ASSERT_OK_AND_ASSIGN(
          auto train, RunOnce(b, {{x, logits}, {z, labels}}, {loss, backprop}));
      NABLA_ASSERT_OK_AND_ASSIGN(
          auto infer, RunOnce(b, {{x, logits}, {z, labels}}, {loss}));
      ExpectAllFinite(train[0]);
      ExpectAllFinite(train[1]);
      ExpectTensorNear(train[0], {}, {ref.loss}, 1e-5, 1e-6);
      ExpectTensorNear(infer[0], {}, {ref.loss}, 1e-5, 1e-6);
      ExpectTensorNear(train[1], {6, 5}, ref.grad, 1e-6, 1e-5);
    }
  }
}

TEST(SoftmaxCrossEntropyTest, EmptyBatchGivesZero) {
  for (Reduction reduction : kReductions) {
    GraphBuilder b;
    Output x = b.Placeholder("logits", {kUnknownDim, 5});
    Output z = b.Placeholder("labels", {kUnknownDim}, DType::kI64);
    Output loss = SoftmaxCrossEntropy(x, z, reduction);
    NABLA_ASSERT_OK_AND_ASSIGN(
        auto out, RunOnce(b, {{x, Tensor(DType::kF32, {0, 5})},
                              {z, Tensor(DType::kI64, {0})}},
                          {loss}));
    ExpectTensorNear(out[0], {}, {0.0});
  }
}

// The fused loss equals the unfused one on moderate logits, gradient
// included.
TEST(SoftmaxCrossEntropyTest, AgreesWithSoftmaxThenCategorical) {
  Tensor logits = RandomTensor({4, 6}, 3, -2, 2);
  Tensor labels = I64({4}, {5, 0, 2, 2});
  GraphBuilder b;
  Output x = b.Placeholder("logits", {4, 6});
  Output z = b.Placeholder("labels", {4}, DType::kI64);
  Output fused = SoftmaxCrossEntropy(x, z);
  Output unfused = CategoricalCrossEntropy(Softmax(x), z);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> g_fused, Gradients(fused, {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> g_unfused,
                             Gradients(unfused, {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, logits}, {z, labels}},
                        {fused, unfused, g_fused[0], g_unfused[0]}));
  ExpectTensorNear(out[1], {}, ::nabla::testing::ToDoubles(out[0]), 1e-6,
                   1e-5);
  ExpectTensorNear(out[3], {4, 6}, ::nabla::testing::ToDoubles(out[2]), 1e-6,
                   1e-4);
}

TEST(SoftmaxCrossEntropyTest, BackpropOutputIsNotDifferentiable) {
  GraphBuilder b;
  Output x = b.Placeholder("logits", {2, 3});
  SoftmaxCrossEntropy(x, b.Placeholder("labels", {2}, DType::kI32),
                      Reduction::kMean, "xent");
  NABLA_ASSERT_OK_AND_ASSIGN(Output backprop, b.Find("xent:1"));
  EXPECT_THAT(Gradients(Sum(backprop), {x}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("does not take second derivatives")));
}

TEST(SoftmaxCrossEntropyTest, LabelsGetNoGradient) {
  GraphBuilder b;
  Output x = b.Placeholder("logits", {2, 3});
  Output z = b.Placeholder("labels", {2, 3});
  Output loss = SoftmaxCrossEntropy(x, z);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads, Gradients(loss, {z}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, RandomTensor({2, 3}, 1)},
                            {z, ProbabilityRows(2, 3, 2)}},
                        {grads[0]}));
  ExpectTensorNear(out[0], {2, 3}, std::vector<double>(6, 0.0));
}

// Above 2^15 elements the loss loops run on several threads; the sums must
// not change.
TEST(LossThreadingTest, LargeInputsMatchReference) {
  Tensor logits = RandomTensor({400, 100}, 31, -5, 5);
  Tensor labels(DType::kI32, {400});
  for (int i = 0; i < 400; ++i) labels.data<int32_t>()[i] = (i * 37) % 100;
  std::vector<Tensor> out;
  RunLossAndGradient(SoftmaxCrossEntropy, logits, labels, Reduction::kMean,
                     &out);
  ASSERT_EQ(out.size(), 2u);
  Reference ref = ReferenceSoftmaxXent(logits, labels, Reduction::kMean);
  ExpectTensorNear(out[0], {}, {ref.loss}, 1e-5, 1e-5);
  ExpectTensorNear(out[1], {400, 100}, ref.grad, 1e-8, 1e-5);

  Tensor x = RandomTensor({40000}, 32, -5, 5);
  Tensor z = RandomTensor({40000}, 33, 0, 1);
  RunLossAndGradient(BinaryCrossEntropyWithLogits, x, z, Reduction::kSum, &out);
  ASSERT_EQ(out.size(), 2u);
  ref = ReferenceBinaryLogits(x, z, Reduction::kSum);
  ExpectTensorNear(out[0], {}, {ref.loss}, 1e-5, 1e-5);
  ExpectTensorNear(out[1], {40000}, ref.grad, 1e-6, 1e-5);
}

// ---------------------------------------------------------------------------
// Losses on probabilities: exact 0 and 1 stay finite.

TEST(CategoricalCrossEntropyTest, ExactZerosAndOnesGiveFiniteLossAndGradient) {
  const Tensor probs = F32({4, 3}, {1, 0, 0,  //
                                    0, 1, 0,  //
                                    0, 0, 1,  //
                                    0.2f, 0.3f, 0.5f});
  // Row 1's label has probability 0: the loss is -log(1e-7), about 16.1.
  const Tensor label_forms[] = {
      I64({4}, {0, 0, 2, 1}),
      I32({4}, {0, 0, 2, 1}),
      F32({4, 3}, {1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0}),
      F32({4, 3}, {0.5f, 0.5f, 0, 0, 0.5f, 0.5f, 0, 0, 1, 0.2f, 0.3f, 0.5f}),
  };
  for (const Tensor& labels : label_forms) {
    for (Reduction reduction : kReductions) {
      SCOPED_TRACE(absl::StrCat(DTypeName(labels.dtype()), " labels, ",
                                ReductionName(reduction)));
      std::vector<Tensor> out;
      RunLossAndGradient(CategoricalCrossEntropy, probs, labels, reduction,
                         &out);
      ASSERT_EQ(out.size(), 2u);
      ExpectAllFinite(out[0]);
      ExpectAllFinite(out[1]);
      Reference ref = ReferenceCategorical(probs, labels, reduction);
      ExpectTensorNear(out[0], {}, {ref.loss}, 1e-5, 1e-6);
      ExpectTensorNear(out[1], {4, 3}, ref.grad, 1e-6, 1e-5);
    }
  }
}

TEST(CategoricalCrossEntropyTest, MatchesKerasValue) {
  // keras.losses.categorical_crossentropy([[0, 1, 0], [0, 0, 1]],
  //     [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]) averaged: 1.1769392.
  GraphBuilder b;
  Output p = b.Placeholder("p", {2, 3});
  Output z = b.Placeholder("z", {2, 3});
  Output loss = CategoricalCrossEntropy(p, z);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{p, F32({2, 3}, {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f})},
                            {z, F32({2, 3}, {0, 1, 0, 0, 0, 1})}},
                        {loss}));
  ExpectTensorNear(out[0], {}, {1.1769392}, 1e-6, 1e-6);
}

TEST(BinaryCrossEntropyTest, ExactZerosAndOnesGiveFiniteLossAndGradient) {
  const Tensor probs = F32({6, 1}, {0, 1, 0, 1, 0.3f, 0.7f});
  const Tensor labels = F32({6, 1}, {0, 1, 1, 0, 1, 0.25f});
  for (Reduction reduction : kReductions) {
    SCOPED_TRACE(ReductionName(reduction));
    std::vector<Tensor> out;
    RunLossAndGradient(BinaryCrossEntropy, probs, labels, reduction, &out);
    ASSERT_EQ(out.size(), 2u);
    ExpectAllFinite(out[0]);
    ExpectAllFinite(out[1]);
    Reference ref = ReferenceBinary(probs, labels, reduction);
    ExpectTensorNear(out[0], {}, {ref.loss}, 1e-5, 1e-6);
    ExpectTensorNear(out[1], {6, 1}, ref.grad, 1e-6, 1e-5);
  }
}

TEST(BinaryCrossEntropyWithLogitsTest, LargeLogitsGiveFiniteLossAndGradient) {
  const Tensor logits = F32({2, 4}, {100, -100, 100, -100, 0.5f, -2, 3, 0});
  const Tensor labels = F32({2, 4}, {1, 0, 0, 1, 0.3f, 1, 0, 0.5f});
  for (Reduction reduction : kReductions) {
    SCOPED_TRACE(ReductionName(reduction));
    std::vector<Tensor> out;
    RunLossAndGradient(BinaryCrossEntropyWithLogits, logits, labels, reduction,
                       &out);
    ASSERT_EQ(out.size(), 2u);
    ExpectAllFinite(out[0]);
    ExpectAllFinite(out[1]);
    Reference ref = ReferenceBinaryLogits(logits, labels, reduction);
    ExpectTensorNear(out[0], {}, {ref.loss}, 1e-5, 1e-6);
    ExpectTensorNear(out[1], {2, 4}, ref.grad, 1e-6, 1e-5);
  }
}

TEST(BinaryCrossEntropyWithLogitsTest, AgreesWithBinaryCrossEntropyOfSigmoid) {
  Tensor logits = RandomTensor({5, 1}, 4, -3, 3);
  Tensor labels = RandomTensor({5, 1}, 5, 0, 1);
  Tensor probs(DType::kF32, {5, 1});
  for (int i = 0; i < 5; ++i) {
    probs.data<float>()[i] = 1 / (1 + std::exp(-logits.data<float>()[i]));
  }
  EXPECT_NEAR(ReferenceBinaryLogits(logits, labels, Reduction::kMean).loss,
              ReferenceBinary(probs, labels, Reduction::kMean).loss, 1e-6);
  GraphBuilder b;
  Output x = b.Placeholder("x", {5, 1});
  Output p = b.Placeholder("p", {5, 1});
  Output z = b.Placeholder("z", {5, 1});
  Output a = BinaryCrossEntropyWithLogits(x, z);
  Output c = BinaryCrossEntropy(p, z);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, logits}, {p, probs}, {z, labels}}, {a, c}));
  ExpectTensorNear(out[0], {}, ::nabla::testing::ToDoubles(out[1]), 1e-6,
                   1e-5);
}

// ---------------------------------------------------------------------------
// Gradients against finite differences: every differentiable input, both
// reductions, both label forms. Central differences with step 1e-2 and the
// default tolerances (atol 2e-3, rtol 2e-2). Probabilities are drawn from
// [0.1, 0.9], so x ± step stays well inside (1e-7, 1 - 1e-7) where the
// clip is the identity; there the relative truncation error of -log(p) is
// step² / (3 p²) <= 3.4e-3.

Output Xent(Output x, Output z, Reduction r) {
  return SoftmaxCrossEntropy(x, z, r);
}
Output Categorical(Output x, Output z, Reduction r) {
  return CategoricalCrossEntropy(x, z, r);
}
Output Binary(Output x, Output z, Reduction r) {
  return BinaryCrossEntropy(x, z, r);
}
Output BinaryLogits(Output x, Output z, Reduction r) {
  return BinaryCrossEntropyWithLogits(x, z, r);
}

void CheckLossGradient(Output (*loss)(Output, Output, Reduction),
                       const Tensor& x, const Tensor& labels) {
  for (Reduction reduction : kReductions) {
    SCOPED_TRACE(absl::StrCat(DTypeName(labels.dtype()), " labels, ",
                              ReductionName(reduction)));
    CheckGradients(
        [loss, reduction](GraphBuilder&, const std::vector<Output>& in) {
          return loss(in[0], in[1], reduction);
        },
        {x, labels}, {0});
  }
}

TEST(LossGradientTest, SoftmaxCrossEntropy) {
  Tensor logits = RandomTensor({4, 5}, 21, -2, 2);
  CheckLossGradient(Xent, logits, I32({4}, {1, 0, 4, 2}));
  CheckLossGradient(Xent, logits, I64({4}, {3, 3, 0, 1}));
  CheckLossGradient(Xent, logits, ProbabilityRows(4, 5, 22));
}

TEST(LossGradientTest, CategoricalCrossEntropy) {
  Tensor probs = RandomTensor({4, 5}, 23, 0.1f, 0.9f);
  CheckLossGradient(Categorical, probs, I64({4}, {1, 0, 4, 2}));
  CheckLossGradient(Categorical, probs, I32({4}, {3, 3, 0, 1}));
  CheckLossGradient(Categorical, probs, ProbabilityRows(4, 5, 24));
}

TEST(LossGradientTest, BinaryCrossEntropy) {
  CheckLossGradient(Binary, RandomTensor({3, 2}, 25, 0.1f, 0.9f),
                    RandomTensor({3, 2}, 26, 0, 1));
  CheckLossGradient(Binary, RandomTensor({5}, 27, 0.1f, 0.9f),
                    F32({5}, {0, 1, 1, 0, 1}));
}

TEST(LossGradientTest, BinaryCrossEntropyWithLogits) {
  CheckLossGradient(BinaryLogits, RandomTensor({3, 2}, 28, -3, 3),
                    RandomTensor({3, 2}, 29, 0, 1));
  CheckLossGradient(BinaryLogits, RandomTensor({4, 1}, 30, -3, 3),
                    F32({4, 1}, {0, 1, 1, 0}));
}

// ---------------------------------------------------------------------------
// Labels out of range at run time.

TEST(LabelRangeTest, OutOfRangeIndexFailsNamingIt) {
  struct Case {
    LossFn loss;
    const char* op;
    Tensor labels;
    const char* message;
  };
  const Case cases[] = {
      {SoftmaxCrossEntropy, "SoftmaxCrossEntropy", I64({3}, {0, 5, 1}),
       "labels[1] = 5 is not a class index in [0, 3)"},
      {SoftmaxCrossEntropy, "SoftmaxCrossEntropy", I32({3}, {0, 1, -1}),
       "labels[2] = -1 is not a class index in [0, 3)"},
      {CategoricalCrossEntropy, "CategoricalCrossEntropy", I32({3}, {3, 0, 0}),
       "labels[0] = 3 is not a class index in [0, 3)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    GraphBuilder b;
    Output x = b.Placeholder("x", {3, 3});
    Output z = b.Placeholder("labels", {3}, c.labels.dtype());
    Output loss = c.loss(x, z, Reduction::kMean, "loss");
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads, Gradients(loss, {x}));
    EXPECT_THAT(RunOnce(b, {{x, RandomTensor({3, 3}, 1, 0.1f, 0.9f)},
                            {z, c.labels}},
                        {loss, grads[0]}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat(c.op, " node 'loss': ",
                                                c.message))));
  }
}

// The gradient op validates on its own, for graphs that run it without the
// forward (a loaded backward pass).
TEST(LabelRangeTest, GradientOpValidatesToo) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2, 4});
  Output z = b.Placeholder("labels", {2}, DType::kI64);
  Output dx = CategoricalCrossEntropyGrad(b.Scalar(1.0f), x, z,
                                          Reduction::kSum, "dx");
  EXPECT_THAT(RunOnce(b, {{x, RandomTensor({2, 4}, 1, 0.1f, 0.9f)},
                          {z, I64({2}, {4, 0})}},
                      {dx}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("labels[0] = 4 is not a class index")));
}

}  // namespace
}  // namespace nabla
