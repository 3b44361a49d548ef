#include "ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/arith.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

// Softmax or log-softmax of `x` along `axis`, in double, with the maximum
// subtracted first.
std::vector<double> ReferenceSoftmax(const Tensor& x, int axis, bool log) {
  const Shape& shape = x.shape();
  if (axis < 0) axis += shape.rank();
  int64_t outer = 1, inner = 1, n = shape[axis];
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (int i = axis + 1; i < shape.rank(); ++i) inner *= shape[i];
  const float* in = x.data<float>();
  std::vector<double> out(x.num_elements());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return o * n * inner + j * inner + i; };
      double max = in[at(0)];
      for (int64_t j = 1; j < n; ++j) max = std::max(max, double{in[at(j)]});
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += std::exp(in[at(j)] - max);
      for (int64_t j = 0; j < n; ++j) {
        double shifted = in[at(j)] - max;
        out[at(j)] = log ? shifted - std::log(sum) : std::exp(shifted) / sum;
      }
    }
  }
  return out;
}

struct SoftmaxCase {
  const char* name;
  bool log;
  Output (*apply)(Output, int64_t);
};

const SoftmaxCase kOps[] = {
    {"Softmax", false, [](Output x, int64_t axis) { return Softmax(x, axis); }},
    {"LogSoftmax", true,
     [](Output x, int64_t axis) { return LogSoftmax(x, axis); }},
};

class SoftmaxOpTest : public ::testing::TestWithParam<SoftmaxCase> {
 protected:
  // oneDNN's JIT log-softmax takes its log from a polynomial, off by up to
  // ~3e-6 absolute (measured); softmax values are within 1e-6.
  static double AbsTolerance() { return GetParam().log ? 1e-5 : 1e-6; }
};

// Shape inference, including its errors.
struct ShapeCase {
  Shape x;
  int64_t axis;
  Shape expected;       // when `error` is empty
  const char* error;    // a substring of the message, or ""
};

TEST_P(SoftmaxOpTest, InfersShapes) {
  const ShapeCase cases[] = {
      {{kUnknownDim, 10}, -1, {kUnknownDim, 10}, ""},
      {{2, 3, 4}, 1, {2, 3, 4}, ""},
      {{2, 3, 4}, -3, {2, 3, 4}, ""},
      {{7}, 0, {7}, ""},
      {{2, 3}, 2, {}, "axis 2 is out of range for rank 2"},
      {{2, 3}, -3, {}, "axis -3 is out of range for rank 2"},
      {{}, -1, {}, "x must have rank >= 1 to normalize along an axis, got a "
                   "scalar"},
  };
  for (const ShapeCase& c : cases) {
    SCOPED_TRACE(c.x.ToString() + " axis " + std::to_string(c.axis));
    GraphBuilder b;
    Output y = GetParam().apply(b.Placeholder("x", c.x), c.axis);
    if (*c.error == '\0') {
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(y.shape(), c.expected);
      EXPECT_EQ(y.dtype(), DType::kF32);
    } else {
      EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr(c.error)));
    }
  }
}

TEST_P(SoftmaxOpTest, RejectsIntegerInput) {
  GraphBuilder b;
  GetParam().apply(b.Placeholder("labels", {4, 3}, DType::kI32), -1);
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("input 'x' must be f32, got i32")));
}

// Shapes and axes covering the collapsed [outer, C] view (last axis) and
// the [outer, C, inner] one.
struct ForwardCase {
  Shape shape;
  int64_t axis;
};

TEST_P(SoftmaxOpTest, ForwardMatchesReference) {
  const ForwardCase cases[] = {
      {{5, 7}, -1}, {{2, 5, 3}, 1}, {{3, 4}, 0}, {{6}, 0}, {{2, 3, 4, 5}, 2}};
  int seed = 1;
  for (const ForwardCase& c : cases) {
    SCOPED_TRACE(c.shape.ToString() + " axis " + std::to_string(c.axis));
    GraphBuilder b;
    Output x = b.Placeholder("x", c.shape);
    Output y = GetParam().apply(x, c.axis);
    Tensor input = RandomTensor(c.shape, seed++, -4, 4);
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{x, input}}, {y}));
    ExpectTensorNear(out[0], c.shape,
                     ReferenceSoftmax(input, c.axis, GetParam().log),
                     AbsTolerance(), 1e-5);
  }
}

TEST_P(SoftmaxOpTest, LargeLogitsStayFinite) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {4, 4});
  Output y = GetParam().apply(x, -1);
  Tensor input = *Tensor::FromVector<float>(
      {4, 4}, {100, -100, 0, 99,             //
               -100, -100, -100, -100,       //
               1000, 1000, -1000, 999,       //
               -100, 100, 100, -50});
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{x, input}}, {y}));
  for (float v : out[0].flat<float>()) EXPECT_TRUE(std::isfinite(v)) << v;
  ExpectTensorNear(out[0], {4, 4}, ReferenceSoftmax(input, -1, GetParam().log),
                   AbsTolerance(), 1e-5);
}

TEST_P(SoftmaxOpTest, EmptyBatchRuns) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 5});
  Output y = GetParam().apply(x, -1);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, Tensor(DType::kF32, {0, 5})}}, {y}));
  EXPECT_EQ(out[0].shape(), Shape({0, 5}));
}

// Central differences with step 1e-2 on inputs in [-2, 2], where the
// softmax is smooth: default tolerances (atol 2e-3, rtol 2e-2).
TEST_P(SoftmaxOpTest, GradientMatchesFiniteDifferences) {
  const ForwardCase cases[] = {{{3, 5}, -1}, {{2, 4, 3}, 1}, {{4, 3}, 0}};
  int seed = 11;
  for (const ForwardCase& c : cases) {
    SCOPED_TRACE(c.shape.ToString() + " axis " + std::to_string(c.axis));
    const int64_t axis = c.axis;
    CheckGradients(
        [axis](GraphBuilder&, const std::vector<Output>& in) {
          return GetParam().apply(in[0], axis);
        },
        {RandomTensor(c.shape, seed++, -2, 2)}, {0});
  }
}

INSTANTIATE_TEST_SUITE_P(
    All, SoftmaxOpTest, ::testing::ValuesIn(kOps),
    [](const ::testing::TestParamInfo<SoftmaxCase>& info) {
      return std::string(info.param.name);
    });

TEST(SoftmaxTest, RowsSumToOne) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 10});
  Output y = Softmax(x);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, RandomTensor({8, 10}, 3, -10, 10)}}, {y}));
  for (int64_t i = 0; i < 8; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < 10; ++j) sum += out[0].data<float>()[i * 10 + j];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(SoftmaxGradTest, RejectsMismatchedShapes) {
  GraphBuilder b;
  SoftmaxGrad(b.Placeholder("dy", {2, 3}), b.Placeholder("y", {2, 4}), -1,
              "grad");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SoftmaxGrad node 'grad' (inputs f32[2,3], "
                                 "f32[2,4]): dy [2,3] and y [2,4] must have "
                                 "the same shape")));
}

TEST(SoftmaxGradTest, KeepsKnownBatch) {
  GraphBuilder b;
  Output dx = LogSoftmaxGrad(b.Placeholder("dy", {kUnknownDim, 3}),
                             b.Placeholder("y", {4, 3}));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(dx.shape(), Shape({4, 3}));
}

// The gradient ops against their closed forms, on a dy that is not the
// all-ones a plain sum would give.
TEST(SoftmaxGradTest, MatchesClosedForms) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {3, 4});
  Output dy = b.Placeholder("dy", {3, 4});
  Output y = Softmax(x);
  Output log_y = LogSoftmax(x);
  Output dx = SoftmaxGrad(dy, y);
  Output log_dx = LogSoftmaxGrad(dy, log_y);
  Tensor xv = RandomTensor({3, 4}, 5, -3, 3);
  Tensor dyv = RandomTensor({3, 4}, 6, -1, 1);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, xv}, {dy, dyv}}, {dx, log_dx}));
  std::vector<double> s = ReferenceSoftmax(xv, -1, false);
  std::vector<double> expected(12), log_expected(12);
  for (int i = 0; i < 3; ++i) {
    double dot = 0, sum = 0;
    for (int j = 0; j < 4; ++j) {
      dot += dyv.data<float>()[i * 4 + j] * s[i * 4 + j];
      sum += dyv.data<float>()[i * 4 + j];
    }
    for (int j = 0; j < 4; ++j) {
      double g = dyv.data<float>()[i * 4 + j];
      expected[i * 4 + j] = s[i * 4 + j] * (g - dot);
      log_expected[i * 4 + j] = g - s[i * 4 + j] * sum;
    }
  }
  ExpectTensorNear(out[0], {3, 4}, expected, 1e-6, 1e-5);
  ExpectTensorNear(out[1], {3, 4}, log_expected, 1e-6, 1e-5);
}

TEST(SoftmaxGradTest, IsAGradientOp) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2, 3});
  Output dx = SoftmaxGrad(x, Softmax(x));
  Output loss = Sum(dx);
  EXPECT_THAT(Gradients(loss, {x}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("does not take second derivatives")));
}

}  // namespace
}  // namespace nabla
