#include "ops/pool.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
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
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

enum class Kind { kMax, kAvg };

Output Pool(Kind kind, Output x, std::vector<int64_t> kernel,
            std::vector<int64_t> strides, absl::string_view padding) {
  return kind == Kind::kMax ? MaxPool2D(x, kernel, strides, padding)
                            : AvgPool2D(x, kernel, strides, padding);
}

// The workspace output of the MaxPool2D node that made `y`.
Output WorkspaceOf(Output y) {
  return Output(y.builder(), NodeOutput{y.ref().node, 1});
}

// ---------------------------------------------------------------------------
// Shape inference.

struct ShapeCase {
  const char* name;
  Shape x;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  const char* padding;
  Shape expected;
};

class PoolShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(PoolShapeTest, InfersOutputShape) {
  const ShapeCase& c = GetParam();
  for (Kind kind : {Kind::kMax, Kind::kAvg}) {
    GraphBuilder b;
    Output y =
        Pool(kind, b.Placeholder("x", c.x), c.kernel, c.strides, c.padding);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(y.shape(), c.expected);
    EXPECT_EQ(y.dtype(), DType::kF32);
    if (kind == Kind::kMax) {
      // One byte per output: the offset of each window's maximum.
      const TensorSpec& workspace = WorkspaceOf(y).spec();
      EXPECT_EQ(workspace.dtype, DType::kU8);
      EXPECT_EQ(workspace.shape, c.expected);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PoolShapeTest,
    ::testing::Values(
        ShapeCase{"MnistPool1",
                  {kUnknownDim, 32, 24, 24},
                  {2, 2},
                  {},
                  "valid",
                  {kUnknownDim, 32, 12, 12}},
        ShapeCase{"MnistPool2",
                  {kUnknownDim, 64, 8, 8},
                  {2, 2},
                  {},
                  "valid",
                  {kUnknownDim, 64, 4, 4}},
        ShapeCase{"OddSizeDropsTheRest",
                  {1, 2, 7, 5},
                  {2, 2},
                  {},
                  "valid",
                  {1, 2, 3, 2}},
        ShapeCase{
            "OddSizeSame", {1, 2, 7, 5}, {2, 2}, {}, "same", {1, 2, 4, 3}},
        ShapeCase{
            "Overlapping", {1, 2, 7, 8}, {3, 3}, {2, 2}, "valid", {1, 2, 3, 3}},
        ShapeCase{"OverlappingSame",
                  {1, 2, 7, 8},
                  {3, 3},
                  {2, 2},
                  "same",
                  {1, 2, 4, 4}},
        ShapeCase{
            "Stride1Same", {3, 2, 6, 6}, {3, 3}, {1, 1}, "same", {3, 2, 6, 6}},
        ShapeCase{"MixedStrides",
                  {1, 1, 9, 9},
                  {3, 2},
                  {1, 2},
                  "valid",
                  {1, 1, 7, 4}},
        ShapeCase{
            "WholeInput", {2, 3, 4, 5}, {4, 5}, {}, "valid", {2, 3, 1, 1}}),
    [](const ::testing::TestParamInfo<ShapeCase>& info) {
      return std::string(info.param.name);
    });

TEST(PoolShapeTest, LargeWindowsHaveAnI32Workspace) {
  GraphBuilder b;
  Output y = MaxPool2D(b.Placeholder("x", {2, 3, 16, 16}), {16, 16});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(WorkspaceOf(y).spec(), (TensorSpec{DType::kI32, {2, 3, 1, 1}}));
}

struct ErrorCase {
  const char* name;
  Shape x;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  const char* padding;
  const char* message;
};

class PoolShapeErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PoolShapeErrorTest, ReportsTheProblem) {
  const ErrorCase& c = GetParam();
  for (Kind kind : {Kind::kMax, Kind::kAvg}) {
    GraphBuilder b;
    Pool(kind, b.Placeholder("x", c.x), c.kernel, c.strides, c.padding);
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr(c.message)));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, PoolShapeErrorTest,
    ::testing::Values(
        ErrorCase{"Rank3",
                  {32, 24, 24},
                  {2, 2},
                  {},
                  "valid",
                  "x must be rank 4 [N, C, H, W], got [32,24,24]"},
        ErrorCase{"EmptyChannels",
                  {1, 0, 4, 4},
                  {2, 2},
                  {},
                  "valid",
                  "x [N, C, H, W] must have positive sizes, got [1,0,4,4]"},
        ErrorCase{"WindowTallerThanInput",
                  {1, 1, 2, 5},
                  {3, 3},
                  {},
                  "valid",
                  "the window's height 3 is larger than the input's height 2 "
                  "with padding \"valid\""},
        ErrorCase{"WindowWiderThanInput",
                  {1, 1, 5, 2},
                  {3, 3},
                  {},
                  "valid",
                  "the window's width 3 is larger than the input's width 2"},
        ErrorCase{"BadPadding",
                  {1, 1, 4, 4},
                  {2, 2},
                  {},
                  "reflect",
                  "padding must be \"valid\", \"same\" or \"explicit\", "
                  "got \"reflect\""},
        ErrorCase{"OneKernelSize",
                  {1, 1, 4, 4},
                  {2},
                  {},
                  "valid",
                  "kernel must be two positive integers, got [2]"},
        ErrorCase{"ZeroKernel",
                  {1, 1, 4, 4},
                  {0, 2},
                  {},
                  "valid",
                  "kernel must be two positive integers, got [0,2]"},
        ErrorCase{"ZeroStride",
                  {1, 1, 4, 4},
                  {2, 2},
                  {2, 0},
                  "valid",
                  "strides must be two positive integers (or none, for the "
                  "kernel size), got [2,0]"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(PoolShapeErrorTest, MessageNamesOpNodeAndInputs) {
  GraphBuilder b;
  MaxPool2D(b.Placeholder("x", {1, 1, 2, 2}), {3, 3}, {}, "valid", "pool");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("MaxPool2D node 'pool' (inputs f32[1,1,2,2]): "
                                 "the window's height 3 is larger")));
}

TEST(PoolGradShapeTest, TakesBatchFromDy) {
  GraphBuilder b;
  Output dy = b.Placeholder("dy", {kUnknownDim, 2, 4, 4});
  Output dx = AvgPool2DGrad(dy, {kUnknownDim, 2, 7, 8}, {3, 3}, {2, 2}, "same");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(dx.shape(), Shape({kUnknownDim, 2, 7, 8}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{dy, RandomTensor({3, 2, 4, 4}, 1)}}, {dx}));
  EXPECT_EQ(out[0].shape(), Shape({3, 2, 7, 8}));
}

TEST(PoolGradShapeTest, RejectsDyOfTheWrongShape) {
  GraphBuilder b;
  AvgPool2DGrad(b.Placeholder("dy", {2, 2, 4, 4}), {2, 2, 7, 8}, {2, 2});
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dy is [2,2,4,4] but pooling [2,2,7,8] gives "
                                 "[2,2,3,4]")));
}

TEST(PoolGradShapeTest, RejectsAWorkspaceThatDoesNotMatchDy) {
  GraphBuilder b;
  MaxPool2DGrad(b.Placeholder("dy", {2, 2, 3, 4}),
                b.Placeholder("ws", {2, 2, 3, 3}, DType::kU8), {2, 2, 7, 8},
                {2, 2});
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("workspace must be u8[2,2,3,4] (output 1 of "
                                 "the MaxPool2D node), got u8[2,2,3,3]")));
}

// ---------------------------------------------------------------------------
// Forward against a reference loop in double precision.

struct ForwardCase {
  const char* name;
  Kind kind;
  Shape x;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  const char* padding;
  int64_t pad_top, pad_left;  // what `padding` should mean
  Shape expected;
};

// Max or mean over the pixels of each window that lie inside the input.
std::vector<double> RefPool(const ForwardCase& c, const Tensor& x) {
  std::vector<double> in = ToDoubles(x);
  const Shape& s = c.expected;
  const int64_t h = c.x[2], w = c.x[3];
  const int64_t sh = c.strides.empty() ? c.kernel[0] : c.strides[0];
  const int64_t sw = c.strides.empty() ? c.kernel[1] : c.strides[1];
  std::vector<double> out;
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t ch = 0; ch < s[1]; ++ch) {
      for (int64_t i = 0; i < s[2]; ++i) {
        for (int64_t j = 0; j < s[3]; ++j) {
          double max = -std::numeric_limits<double>::infinity(), sum = 0;
          int count = 0;
          for (int64_t a = 0; a < c.kernel[0]; ++a) {
            for (int64_t b = 0; b < c.kernel[1]; ++b) {
              int64_t ih = i * sh - c.pad_top + a, iw = j * sw - c.pad_left + b;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              double v = in[((n * s[1] + ch) * h + ih) * w + iw];
              max = std::max(max, v);
              sum += v;
              ++count;
            }
          }
          out.push_back(c.kind == Kind::kMax ? max : sum / count);
        }
      }
    }
  }
  return out;
}

class PoolForwardTest : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(PoolForwardTest, MatchesReference) {
  const ForwardCase& c = GetParam();
  GraphBuilder b;
  Output x = b.Placeholder("x", c.x.WithDim(0, kUnknownDim));
  Output y = Pool(c.kind, x, c.kernel, c.strides, c.padding);
  ASSERT_TRUE(b.ok()) << b.status();
  Tensor input = RandomTensor(c.x, 3, -2, 2);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{x, input}}, {y}));
  ExpectTensorNear(out[0], c.expected, RefPool(c, input), 1e-6, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Table, PoolForwardTest,
    ::testing::Values(ForwardCase{"Max2x2",
                                  Kind::kMax,
                                  {2, 3, 8, 6},
                                  {2, 2},
                                  {},
                                  "valid",
                                  0,
                                  0,
                                  {2, 3, 4, 3}},
                      ForwardCase{"Avg2x2",
                                  Kind::kAvg,
                                  {2, 3, 8, 6},
                                  {2, 2},
                                  {},
                                  "valid",
                                  0,
                                  0,
                                  {2, 3, 4, 3}},
                      ForwardCase{"MaxOverlapping",
                                  Kind::kMax,
                                  {2, 2, 7, 8},
                                  {3, 3},
                                  {2, 2},
                                  "valid",
                                  0,
                                  0,
                                  {2, 2, 3, 3}},
                      ForwardCase{"AvgOverlapping",
                                  Kind::kAvg,
                                  {2, 2, 7, 8},
                                  {3, 3},
                                  {2, 2},
                                  "valid",
                                  0,
                                  0,
                                  {2, 2, 3, 3}},
                      // Height: 2 rows of padding, 1 on top; width: 1 column,
                      // at the right.
                      ForwardCase{"MaxSame",
                                  Kind::kMax,
                                  {2, 2, 7, 8},
                                  {3, 3},
                                  {2, 2},
                                  "same",
                                  1,
                                  0,
                                  {2, 2, 4, 4}},
                      // The mean leaves the padding out.
                      ForwardCase{"AvgSame",
                                  Kind::kAvg,
                                  {2, 2, 7, 8},
                                  {3, 3},
                                  {2, 2},
                                  "same",
                                  1,
                                  0,
                                  {2, 2, 4, 4}},
                      ForwardCase{"AvgSameStride1",
                                  Kind::kAvg,
                                  {1, 2, 5, 5},
                                  {3, 3},
                                  {1, 1},
                                  "same",
                                  1,
                                  1,
                                  {1, 2, 5, 5}},
                      ForwardCase{"MaxOddSameStride2",
                                  Kind::kMax,
                                  {1, 3, 5, 7},
                                  {2, 2},
                                  {},
                                  "same",
                                  0,
                                  0,
                                  {1, 3, 3, 4}},
                      ForwardCase{"MaxMixedStrides",
                                  Kind::kMax,
                                  {2, 1, 9, 9},
                                  {3, 2},
                                  {1, 2},
                                  "valid",
                                  0,
                                  0,
                                  {2, 1, 7, 4}},
                      ForwardCase{"MaxLargeWindow",
                                  Kind::kMax,
                                  {2, 3, 16, 17},
                                  {16, 16},
                                  {1, 1},
                                  "valid",
                                  0,
                                  0,
                                  {2, 3, 1, 2}}),
    [](const ::testing::TestParamInfo<ForwardCase>& info) {
      return std::string(info.param.name);
    });

// Forward alone (no workspace wanted) and with the gradient (workspace
// kept) give the same maxima.
TEST(MaxPoolTest, InferenceAndTrainingAgree) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4, 6, 6});
  Output y = MaxPool2D(x, {2, 2});
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(Sum(y), {x}));
  Tensor input = RandomTensor({3, 4, 6, 6}, 5);
  NABLA_ASSERT_OK_AND_ASSIGN(auto inference, RunOnce(b, {{x, input}}, {y}));
  NABLA_ASSERT_OK_AND_ASSIGN(auto training,
                             RunOnce(b, {{x, input}}, {y, grads[0]}));
  EXPECT_TRUE(inference[0].BitwiseEquals(training[0]));
  // Each window's gradient of 1 lands on exactly one pixel.
  double total = 0;
  for (double v : ToDoubles(training[1])) total += v;
  EXPECT_EQ(total, 3 * 4 * 3 * 3);
}

// The workspace, fetched (and so reordered to plain), holds each window's
// offset of its maximum, whichever layout the pooling ran in: NHWC for 3
// channels, channel-blocked for 16.
TEST(MaxPoolTest, WorkspaceHoldsTheOffsetOfEachMaximum) {
  for (int64_t channels : {3, 16}) {
    SCOPED_TRACE(channels);
    GraphBuilder b;
    Output x = b.Placeholder("x", {2, channels, 4, 6});
    Output y = MaxPool2D(x, {2, 2});
    Tensor input = RandomTensor({2, channels, 4, 6}, 6);
    NABLA_ASSERT_OK_AND_ASSIGN(auto out,
                               RunOnce(b, {{x, input}}, {WorkspaceOf(y)}));
    std::vector<double> offsets;
    const float* in = input.data<float>();
    for (int64_t nc = 0; nc < 2 * channels; ++nc) {
      for (int64_t i = 0; i < 2; ++i) {
        for (int64_t j = 0; j < 3; ++j) {
          int best = 0;
          float max = in[(nc * 4 + 2 * i) * 6 + 2 * j];
          for (int k = 1; k < 4; ++k) {
            float v = in[(nc * 4 + 2 * i + k / 2) * 6 + 2 * j + k % 2];
            if (v > max) {
              max = v;
              best = k;
            }
          }
          offsets.push_back(best);
        }
      }
    }
    ASSERT_EQ(out[0].dtype(), DType::kU8);
    ExpectTensorNear(out[0], {2, channels, 2, 3}, offsets, 0, 0);
  }
}

// An empty batch gives empty outputs and gradients.
TEST(MaxPoolTest, EmptyBatch) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 4, 4});
  Output y = MaxPool2D(x, {2, 2});
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(Sum(y), {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out,
      RunOnce(b, {{x, Tensor(DType::kF32, {0, 2, 4, 4})}}, {y, grads[0]}));
  EXPECT_EQ(out[0].shape(), Shape({0, 2, 2, 2}));
  EXPECT_EQ(out[1].shape(), Shape({0, 2, 4, 4}));
}

// ---------------------------------------------------------------------------
// Gradients against finite differences, with a step of 0.01 and a tolerance
// of 2e-3 + 2e-2 |numeric|. Pooling is piecewise linear, so the differences
// are exact as long as no step changes a window's maximum: the inputs of max
// pooling are distinct multiples of 0.05, five steps apart.

// Values 0.05 apart (-0.05 k for k < 0.5 n), in an order fixed by `seed`.
Tensor DistinctValues(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  std::vector<int64_t> order(t.num_elements());
  std::iota(order.begin(), order.end(), -t.num_elements() / 2);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<float>()[i] = 0.05f * static_cast<float>(order[i]);
  }
  return t;
}

struct GradCase {
  const char* name;
  Kind kind;
  Shape x;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  const char* padding;
};

class PoolGradientTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(PoolGradientTest, MatchesFiniteDifferences) {
  const GradCase c = GetParam();
  CheckGradients(
      [c](GraphBuilder&, const std::vector<Output>& in) {
        return Pool(c.kind, in[0], c.kernel, c.strides, c.padding);
      },
      {DistinctValues(c.x, 9)}, {0});
}

INSTANTIATE_TEST_SUITE_P(
    Table, PoolGradientTest,
    ::testing::Values(
        GradCase{"Max2x2", Kind::kMax, {2, 3, 4, 6}, {2, 2}, {}, "valid"},
        GradCase{"MaxOverlappingSame",
                 Kind::kMax,
                 {1, 2, 7, 6},
                 {3, 3},
                 {2, 2},
                 "same"},
        GradCase{
            "MaxStride1", Kind::kMax, {1, 2, 5, 5}, {2, 2}, {1, 1}, "valid"},
        GradCase{"Avg2x2", Kind::kAvg, {2, 3, 4, 6}, {2, 2}, {}, "valid"},
        GradCase{"AvgOverlappingSame",
                 Kind::kAvg,
                 {1, 2, 7, 6},
                 {3, 3},
                 {2, 2},
                 "same"},
        GradCase{"AvgMixedStrides",
                 Kind::kAvg,
                 {1, 2, 6, 7},
                 {3, 2},
                 {1, 2},
                 "valid"},
        // 256 pixels a window: oneDNN's workspace holds i32 offsets.
        GradCase{"MaxLargeWindow",
                 Kind::kMax,
                 {1, 2, 16, 17},
                 {16, 16},
                 {1, 1},
                 "valid"}),
    [](const ::testing::TestParamInfo<GradCase>& info) {
      return std::string(info.param.name);
    });

// ---------------------------------------------------------------------------
// The MNIST model's pooling: [4, 32, 24, 24] -> [4, 32, 12, 12] ->
// (conv) [4, 64, 8, 8] -> [4, 64, 4, 4]; forward and backward against the
// reference, with the gradient going to each window's first maximum.

TEST(PoolMnistTest, MaxPool2x2ForwardAndBackward) {
  for (const Shape& shape : {Shape({4, 32, 24, 24}), Shape({4, 64, 8, 8})}) {
    SCOPED_TRACE(shape.ToString());
    GraphBuilder b;
    Output x = b.Placeholder("x", shape.WithDim(0, kUnknownDim));
    Output y = MaxPool2D(x, {2, 2});
    const Shape y_shape = {shape[0], shape[1], shape[2] / 2, shape[3] / 2};
    Tensor r = RandomTensor(y_shape, 7, 0.5f, 1.5f);
    NABLA_ASSERT_OK_AND_ASSIGN(auto grads,
                               Gradients(Sum(Mul(y, b.Constant(r))), {x}));
    Tensor input = RandomTensor(shape, 8);
    NABLA_ASSERT_OK_AND_ASSIGN(auto out,
                               RunOnce(b, {{x, input}}, {y, grads[0]}));

    ForwardCase c{"", Kind::kMax, shape, {2, 2}, {}, "valid", 0, 0, y_shape};
    ExpectTensorNear(out[0], y_shape, RefPool(c, input), 0, 0);
    std::vector<double> dx(shape.NumElements(), 0.0);
    const float* in = input.data<float>();
    const int64_t h = shape[2], w = shape[3];
    for (int64_t nc = 0; nc < shape[0] * shape[1]; ++nc) {
      for (int64_t i = 0; i < h / 2; ++i) {
        for (int64_t j = 0; j < w / 2; ++j) {
          int64_t best = (nc * h + 2 * i) * w + 2 * j;
          for (int a = 0; a < 2; ++a) {
            for (int bb = 0; bb < 2; ++bb) {
              int64_t k = (nc * h + 2 * i + a) * w + 2 * j + bb;
              if (in[k] > in[best]) best = k;
            }
          }
          dx[best] = r.data<float>()[(nc * (h / 2) + i) * (w / 2) + j];
        }
      }
    }
    ExpectTensorNear(out[1], shape, dx, 0, 0);
  }
}

// Rerunning a plan gives the same bits, also after a run on other inputs has
// left its values in the plan's reused buffers: every output element is
// written, overlapping windows included.
TEST(PoolPlanTest, RerunsAreBitwiseIdentical) {
  // 16 channels pool in a blocked layout, 12 in NHWC.
  for (int64_t channels : {16, 12}) {
    SCOPED_TRACE(channels);
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, channels, 9, 9});
    Output m = MaxPool2D(x, {3, 3}, {2, 2}, "same");
    Output a = AvgPool2D(x, {3, 3}, {2, 2}, "same");
    Tensor r = RandomTensor({4, channels, 5, 5}, 3);
    Output loss = Sum(Mul(Add(m, Mul(a, a)), b.Constant(r)));
    NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {x}));
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
    const Shape shape = {4, channels, 9, 9};
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan, session->Compile({{x, shape}}, {m, a, grads[0]}));
    std::vector<Tensor> feeds = {RandomTensor(shape, 1)};
    std::vector<Tensor> other_feeds = {RandomTensor(shape, 2, -9, 9)};
    std::vector<Tensor> first, other, again;
    NABLA_ASSERT_OK(plan->Run(feeds, &first));
    NABLA_ASSERT_OK(plan->Run(other_feeds, &other));
    NABLA_ASSERT_OK(plan->Run(feeds, &again));
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_TRUE(first[i].BitwiseEquals(again[i])) << "fetch " << i;
      EXPECT_FALSE(first[i].BitwiseEquals(other[i])) << "fetch " << i;
    }
  }
}

}  // namespace
}  // namespace nabla
