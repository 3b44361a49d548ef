// SoftmaxCrossEntropy's label_smoothing: shape inference, the loss and its
// gradient against a double loop, finite differences, and PyTorch's
// F.cross_entropy(label_smoothing=e).

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/losses.h"
#include "tests/test_util.h"
#include "tests/train_extras/golden_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::GoldenCases;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::ReadTrainExtrasGolden;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

Tensor I64(const std::vector<int64_t>& values) {
  return *Tensor::FromVector<int64_t>(
      Shape({static_cast<int64_t>(values.size())}), absl::MakeConstSpan(values));
}
Tensor I32(const std::vector<int32_t>& values) {
  return *Tensor::FromVector<int32_t>(
      Shape({static_cast<int64_t>(values.size())}), absl::MakeConstSpan(values));
}
Tensor F32(const Shape& shape, const std::vector<double>& values) {
  std::vector<float> f(values.begin(), values.end());
  return *Tensor::FromVector<float>(shape, absl::MakeConstSpan(f));
}

// Rows of probabilities that sum to 1.
Tensor ProbabilityRows(int64_t n, int64_t k, uint64_t seed) {
  std::vector<double> p = ToDoubles(RandomTensor({n, k}, seed, 0.1f, 1.0f));
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[i * k + j];
    for (int64_t j = 0; j < k; ++j) p[i * k + j] /= sum;
  }
  return F32({n, k}, p);
}

// The labels as rows z of probabilities (one-hot for indices).
std::vector<double> LabelRows(const Tensor& labels, int64_t n, int64_t k) {
  if (labels.dtype() == DType::kF32) return ToDoubles(labels);
  std::vector<double> z(n * k, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t label = labels.dtype() == DType::kI32 ? labels.data<int32_t>()[i]
                                                  : labels.data<int64_t>()[i];
    z[i * k + label] = 1;
  }
  return z;
}

// The smoothed loss and d loss / d logits in double, straight from the
// definition: t = (1 - e) z + e / K, loss = -sum t log softmax(x).
void Reference(const Tensor& logits, const Tensor& labels, double e,
               Reduction reduction, double* loss, std::vector<double>* grad) {
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  std::vector<double> x = ToDoubles(logits);
  std::vector<double> z = LabelRows(labels, n, k);
  const double scale = reduction == Reduction::kMean ? 1.0 / n : 1.0;
  *loss = 0;
  grad->assign(n * k, 0);
  for (int64_t i = 0; i < n; ++i) {
    double max = x[i * k];
    for (int64_t j = 1; j < k; ++j) max = std::max(max, x[i * k + j]);
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(x[i * k + j] - max);
    for (int64_t j = 0; j < k; ++j) {
      const double log_p = x[i * k + j] - max - std::log(sum);
      const double t = (1 - e) * z[i * k + j] + e / k;
      *loss -= scale * t * log_p;
      (*grad)[i * k + j] = scale * (std::exp(log_p) - t);
    }
  }
}

// Runs the loss and its gradient for logits fed as a placeholder.
absl::StatusOr<std::vector<Tensor>> LossAndGradient(const Tensor& logits,
                                                    const Tensor& labels,
                                                    float e,
                                                    Reduction reduction) {
  GraphBuilder b;
  Output x = b.Placeholder("logits", logits.shape());
  Output z = b.Placeholder("labels", labels.shape(), labels.dtype());
  Output loss = SoftmaxCrossEntropy(x, z, e, reduction);
  NABLA_ASSIGN_OR_RETURN(std::vector<Output> grads, Gradients(loss, {x}));
  return RunOnce(b, {{x, logits}, {z, labels}}, {loss, grads[0]});
}

std::vector<Tensor> LabelKinds() {
  return {I64({2, 0, 4, 4, 1, 3}), I32({1, 1, 0, 3, 2, 4}),
          ProbabilityRows(6, 5, 61)};
}

TEST(LabelSmoothingTest, ShapeInference) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 7});
  Output z = b.Placeholder("z", {kUnknownDim}, DType::kI64);
  Output loss = SoftmaxCrossEntropy(x, z, 0.1f);
  NABLA_ASSERT_OK(b.status());
  EXPECT_EQ(loss.shape(), Shape());
  EXPECT_EQ(loss.dtype(), DType::kF32);
  for (float e : {-0.01f, 1.5f, std::nanf("")}) {
    GraphBuilder bad;
    SoftmaxCrossEntropy(bad.Placeholder("x", {2, 3}),
                        bad.Placeholder("z", {2}, DType::kI64), e);
    EXPECT_THAT(bad.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("label_smoothing")));
  }
  // The other checks still apply.
  GraphBuilder mismatch;
  SoftmaxCrossEntropy(mismatch.Placeholder("x", {2, 3}),
                      mismatch.Placeholder("z", {3}, DType::kI64), 0.1f);
  EXPECT_FALSE(mismatch.status().ok());
}

TEST(LabelSmoothingTest, MatchesADoubleLoop) {
  Tensor logits = RandomTensor({6, 5}, 62, -4, 4);
  for (const Tensor& labels : LabelKinds()) {
    for (Reduction reduction : {Reduction::kMean, Reduction::kSum}) {
      for (float e : {0.1f, 0.3f, 1.0f}) {
        SCOPED_TRACE(absl::StrCat(DTypeName(labels.dtype()), " labels, ",
                                  reduction == Reduction::kSum ? "sum" : "mean",
                                  ", e = ", e));
        NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                                   LossAndGradient(logits, labels, e, reduction));
        double loss;
        std::vector<double> grad;
        Reference(logits, labels, e, reduction, &loss, &grad);
        ExpectTensorNear(out[0], Shape(), {loss}, 1e-6, 1e-6);
        ExpectTensorNear(out[1], Shape({6, 5}), grad, 1e-7, 1e-5);
      }
    }
  }
}

TEST(LabelSmoothingTest, ZeroIsTheUnsmoothedLossBitForBit) {
  Tensor logits = RandomTensor({6, 5}, 63, -3, 3);
  for (const Tensor& labels : LabelKinds()) {
    GraphBuilder b;
    Output x = b.Placeholder("logits", logits.shape());
    Output z = b.Placeholder("labels", labels.shape(), labels.dtype());
    Output plain = SoftmaxCrossEntropy(x, z, Reduction::kMean);
    Output zero = SoftmaxCrossEntropy(x, z, 0.0f, Reduction::kMean);
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> plain_grad,
                               Gradients(plain, {x}));
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> zero_grad,
                               Gradients(zero, {x}));
    NABLA_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> out,
        RunOnce(b, {{x, logits}, {z, labels}},
                {plain, zero, plain_grad[0], zero_grad[0]}));
    EXPECT_TRUE(out[0].BitwiseEquals(out[1]));
    EXPECT_TRUE(out[2].BitwiseEquals(out[3]));
    // Smoothing changes the loss: the test above would notice a no-op.
    NABLA_ASSERT_OK_AND_ASSIGN(
        std::vector<Tensor> smoothed,
        LossAndGradient(logits, labels, 0.1f, Reduction::kMean));
    EXPECT_NE(smoothed[0].data<float>()[0], out[0].data<float>()[0]);
  }
}

TEST(LabelSmoothingTest, FiniteDifferences) {
  Tensor logits = RandomTensor({4, 5}, 64, -2, 2);
  std::vector<Tensor> labels = {I64({3, 3, 0, 1}), I32({1, 0, 4, 2}),
                                ProbabilityRows(4, 5, 65)};
  for (const Tensor& z : labels) {
    for (Reduction reduction : {Reduction::kMean, Reduction::kSum}) {
      SCOPED_TRACE(DTypeName(z.dtype()));
      CheckGradients(
          [reduction](GraphBuilder&, const std::vector<Output>& in) {
            return SoftmaxCrossEntropy(in[0], in[1], 0.2f, reduction);
          },
          {logits, z}, {0});
    }
  }
}

TEST(LabelSmoothingTest, MatchesTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(GoldenCases golden, ReadTrainExtrasGolden());
  for (const char* name : {"ls_index_mean", "ls_index_sum", "ls_probs_mean"}) {
    SCOPED_TRACE(name);
    const auto& c = golden.at(name);
    const std::vector<double>& params = c.at("params");
    const float e = static_cast<float>(params[0]);
    const Reduction reduction = params[1] != 0 ? Reduction::kSum : Reduction::kMean;
    const bool soft = params[2] != 0;
    const int64_t n = static_cast<int64_t>(params[3]);
    const int64_t k = static_cast<int64_t>(params[4]);
    Tensor logits = F32({n, k}, c.at("logits"));
    Tensor labels;
    if (soft) {
      labels = F32({n, k}, c.at("labels"));
    } else {
      std::vector<int64_t> indices(c.at("labels").begin(), c.at("labels").end());
      labels = I64(indices);
    }
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                               LossAndGradient(logits, labels, e, reduction));
    // torch's smoothing is the double 0.1; ours the f32 0.1f.
    ExpectTensorNear(out[0], Shape(), c.at("loss"), 1e-6, 1e-6);
    ExpectTensorNear(out[1], Shape({n, k}), c.at("dlogits"), 1e-7, 1e-5);
  }
}

}  // namespace
}  // namespace nabla
