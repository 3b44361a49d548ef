// MaxPool2D and AvgPool2D with explicit padding, PyTorch's ceil_mode and
// count_include_pad; GlobalAveragePool. Shapes, a plain double-precision
// reference, finite differences and PyTorch goldens.

#include <algorithm>
#include <cmath>
#include <limits>

#include "graph/autodiff.h"
#include "ops/arith.h"
#include "ops/conv.h"
#include "ops/pool.h"
#include "tests/layers/golden_util.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::GoldenCase;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::ReadGoldens;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::HasSubstr;

struct Config {
  bool max;
  std::vector<int64_t> kernel, strides, pads;  // pads: top, bottom, left, right
  bool ceil = false;
  bool include = false;
};

Pool2DOptions Options(const Config& c) {
  Pool2DOptions o;
  o.kernel = c.kernel;
  o.strides = c.strides;
  o.padding = "explicit";
  o.explicit_paddings = c.pads;
  o.ceil_mode = c.ceil;
  o.count_include_pad = c.include;
  return o;
}

Output Pool(Output x, const Config& c, absl::string_view name = {}) {
  return c.max ? MaxPool2D(x, Options(c), name) : AvgPool2D(x, Options(c), name);
}

// PyTorch's output size (aten's pooling_output_shape), with the padding
// before and after allowed to differ.
int64_t OutSize(int64_t in, int64_t k, int64_t s, int64_t before, int64_t after,
                bool ceil) {
  int64_t span = in + before + after - k;
  int64_t out = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (out - 1) * s >= in + before) --out;
  return out;
}

// PyTorch's pooling loops in double: max ignores the padding; the average
// divides by the window clipped to the padded input (include) or by its
// input pixels (exclude).
std::vector<double> Reference(const Tensor& x, const Config& c, Shape* shape) {
  const Shape& xs = x.shape();
  const int64_t n = xs[0], ch = xs[1], h = xs[2], w = xs[3];
  const int64_t oh = OutSize(h, c.kernel[0], c.strides[0], c.pads[0], c.pads[1], c.ceil);
  const int64_t ow = OutSize(w, c.kernel[1], c.strides[1], c.pads[2], c.pads[3], c.ceil);
  *shape = Shape({n, ch, oh, ow});
  std::vector<double> y;
  const float* in = x.data<float>();
  for (int64_t b = 0; b < n * ch; ++b) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t h0 = i * c.strides[0] - c.pads[0], w0 = j * c.strides[1] - c.pads[2];
        int64_t h1 = std::min(h0 + c.kernel[0], h + c.pads[1]);
        int64_t w1 = std::min(w0 + c.kernel[1], w + c.pads[3]);
        const double padded_area = double(h1 - h0) * double(w1 - w0);
        double acc = c.max ? -std::numeric_limits<double>::infinity() : 0;
        int count = 0;
        for (int64_t p = std::max<int64_t>(h0, 0); p < std::min(h1, h); ++p) {
          for (int64_t q = std::max<int64_t>(w0, 0); q < std::min(w1, w); ++q) {
            double v = in[(b * h + p) * w + q];
            acc = c.max ? std::max(acc, v) : acc + v;
            ++count;
          }
        }
        if (!c.max) acc /= c.include ? padded_area : count;
        y.push_back(acc);
      }
    }
  }
  return y;
}

TEST(PoolPadShapeTest, ExplicitAndCeil) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 8, 8});
  // (8 + 2 - 3) / 2 + 1 = 4 floors, 5 with ceil_mode.
  EXPECT_EQ(Pool(x, {true, {3, 3}, {2, 2}, {1, 1, 1, 1}}).shape(),
            Shape({kUnknownDim, 3, 4, 4}));
  EXPECT_EQ(Pool(x, {true, {3, 3}, {2, 2}, {1, 1, 1, 1}, true}).shape(),
            Shape({kUnknownDim, 3, 5, 5}));
  // Asymmetric: height (8 + 1 + 0 - 2) / 2 + 1, width (8 + 0 + 2 - 3) / 2 + 1.
  EXPECT_EQ(Pool(x, {false, {2, 3}, {2, 2}, {1, 0, 0, 2}}).shape(),
            Shape({kUnknownDim, 3, 4, 4}));
  Output x5 = b.Placeholder("x5", {1, 1, 5, 5});
  // (5 + 2 - 2) / 2 rounds up to 3, + 1 = 4, but the 4th window would start
  // in the bottom padding, so PyTorch keeps 3.
  EXPECT_EQ(Pool(x5, {true, {2, 2}, {2, 2}, {1, 1, 1, 1}, true}).shape(),
            Shape({1, 1, 3, 3}));
  EXPECT_EQ(Pool(x5, {true, {2, 2}, {2, 2}, {0, 0, 0, 0}, true}).shape(),
            Shape({1, 1, 3, 3}));
  EXPECT_EQ(GlobalAveragePool(x).shape(), Shape({kUnknownDim, 3}));
  EXPECT_EQ(GlobalAveragePool(x, true).shape(), Shape({kUnknownDim, 3, 1, 1}));
  ASSERT_TRUE(b.ok()) << b.status();
}

TEST(PoolPadShapeTest, Errors) {
  struct Case {
    Pool2DOptions options;
    bool max;
    const char* message;
  };
  std::vector<Case> cases;
  Pool2DOptions o;
  o.kernel = {3, 3};
  o.padding = "same";
  o.ceil_mode = true;
  cases.push_back({o, true, "ceil_mode applies to padding \"valid\" or \"explicit\""});
  o = Pool2DOptions();
  o.kernel = {3, 3};
  o.padding = "explicit";
  o.explicit_paddings = {1, 3, 1, 1};
  cases.push_back({o, true, "smaller than the kernel's size on its axis, got [1,3,1,1]"});
  o.explicit_paddings = {1, 1};
  cases.push_back({o, false, "needs explicit_paddings of four integers"});
  o.padding = "valid";
  cases.push_back({o, true, "explicit_paddings are given only with padding \"explicit\""});
  o.padding = "reflect";
  cases.push_back({o, true, "padding must be \"valid\", \"same\" or \"explicit\""});
  // 8 + 2 - 3 = 7, so ceil's 5th window overhangs the padded input.
  o = Options({false, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true});
  cases.push_back({o, false,
                   "with ceil_mode, the last window along the height overhangs "
                   "the padded input by 1 pixels, where count_include_pad is "
                   "not supported"});
  for (const Case& c : cases) {
    GraphBuilder b;
    Output x = b.Placeholder("x", {2, 3, 8, 8});
    if (c.max) {
      MaxPool2D(x, c.options, "pool");
    } else {
      AvgPool2D(x, c.options, "pool");
    }
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr(c.message)));
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr(absl::StrCat(c.max ? "MaxPool2D" : "AvgPool2D",
                                       " node 'pool' (inputs f32[2,3,8,8])")));
  }
  GraphBuilder b;
  GlobalAveragePool(b.Placeholder("x", {2, 3, 8}), false, "gap");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("GlobalAveragePool node 'gap' (inputs "
                                 "f32[2,3,8]): x must be rank 4")));
}

const Config kConfigs[] = {
    {true, {3, 3}, {2, 2}, {1, 1, 1, 1}, true},
    {true, {2, 2}, {2, 2}, {1, 1, 1, 1}, true},
    {true, {2, 3}, {1, 2}, {1, 0, 2, 1}},
    {false, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, false},
    {false, {3, 3}, {2, 2}, {1, 1, 1, 1}, false, true},
    {false, {3, 2}, {2, 1}, {1, 2, 0, 1}, false, true},
    {false, {3, 2}, {2, 1}, {1, 2, 0, 1}, false, false},
    {false, {2, 3}, {2, 2}, {1, 1, 1, 1}, true, false},
    // 9 + 2 - 3 = 8 (and 7 + 2 - 3 = 6 for the gradients): no overhang, so
    // include goes with ceil.
    {false, {3, 3}, {2, 2}, {1, 1, 1, 1}, true, true},
    // Many channels: the blocked layouts oneDNN's JIT kernels prefer.
    {true, {3, 3}, {2, 2}, {1, 1, 1, 1}, true},
};

TEST(PoolPadForwardTest, MatchesReference) {
  int seed = 1;
  for (const Config& c : kConfigs) {
    const bool wide = &c == &kConfigs[std::size(kConfigs) - 1];
    Tensor x = RandomTensor({2, wide ? 19 : 3, 9, 9}, seed++);
    GraphBuilder b;
    Output px = b.Placeholder("x", x.shape().WithDim(0, kUnknownDim));
    Output y = Pool(px, c);
    ASSERT_TRUE(b.ok()) << b.status();
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{px, x}}, {y}));
    Shape expected_shape;
    std::vector<double> expected = Reference(x, c, &expected_shape);
    SCOPED_TRACE(absl::StrCat("config ", &c - kConfigs));
    ExpectTensorNear(out[0], expected_shape, expected, 1e-6, 1e-5);
  }
}

TEST(PoolPadForwardTest, GlobalAveragePoolMatchesReference) {
  for (int channels : {3, 20}) {
    Tensor x = RandomTensor({2, channels, 5, 7}, channels);
    GraphBuilder b;
    Output px = b.Placeholder("x", x.shape());
    Output y = GlobalAveragePool(px), yk = GlobalAveragePool(px, true);
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{px, x}}, {y, yk}));
    std::vector<double> expected;
    for (int64_t i = 0; i < 2 * channels; ++i) {
      double acc = 0;
      for (int p = 0; p < 35; ++p) acc += x.data<float>()[i * 35 + p];
      expected.push_back(acc / 35);
    }
    ExpectTensorNear(out[0], {2, channels}, expected, 1e-6, 1e-5);
    ExpectTensorNear(out[1], {2, channels, 1, 1}, expected, 1e-6, 1e-5);
  }
}

// After a convolution, whose output arrives in oneDNN's blocked layout,
// global pooling agrees with the plain Mean over the image, forward and
// backward.
TEST(PoolPadForwardTest, GlobalAveragePoolAfterAConvolution) {
  Tensor x = RandomTensor({2, 3, 9, 9}, 50), w = RandomTensor({16, 3, 3, 3}, 51);
  GraphBuilder b;
  Output px = b.Placeholder("x", x.shape()), pw = b.Placeholder("w", w.shape());
  Output h = Conv2D(px, pw);
  Output gap = GlobalAveragePool(h), mean = Mean(h, {2, 3});
  Output r = b.Constant(RandomTensor({2, 16}, 52));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> d_gap,
                             Gradients(Sum(Mul(gap, r)), {pw}));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> d_mean,
                             Gradients(Sum(Mul(mean, r)), {pw}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{px, x}, {pw, w}}, {gap, mean, d_gap[0], d_mean[0]}));
  ExpectTensorNear(out[0], {2, 16}, ToDoubles(out[1]), 1e-6, 1e-5);
  ExpectTensorNear(out[2], w.shape(), ToDoubles(out[3]), 1e-5, 1e-5);
}

TEST(PoolPadGradientTest, FiniteDifferences) {
  int seed = 20;
  for (const Config& c : kConfigs) {
    SCOPED_TRACE(absl::StrCat("config ", &c - kConfigs));
    // Values 0.05 apart in a scrambled order, so that no maximum is tied
    // within the finite-difference step.
    Tensor x = RandomTensor({1, 2, 7, 7}, seed++);
    const int64_t n = x.shape().NumElements();
    for (int64_t i = 0; i < n; ++i) {
      x.data<float>()[i] = static_cast<float>((i * 37 + seed) % n) * 0.05f - 2.0f;
    }
    CheckGradients(
        [&c](GraphBuilder&, const std::vector<Output>& in) {
          return Pool(in[0], c);
        },
        {x}, {0});
  }
  for (bool keep : {false, true}) {
    CheckGradients(
        [keep](GraphBuilder&, const std::vector<Output>& in) {
          return GlobalAveragePool(in[0], keep);
        },
        {RandomTensor({2, 3, 4, 5}, 40)}, {0});
  }
}

TEST(PoolPadGoldenTest, MatchesPyTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<GoldenCase> cases, ReadGoldens("pool"));
  EXPECT_EQ(cases.size(), 11u);
  for (const GoldenCase& g : cases) {
    SCOPED_TRACE(g.name);
    const Tensor& x = g.tensor("x");
    GraphBuilder b;
    Output px = b.Placeholder("x", x.shape());
    Output y;
    if (g.attrs.count("keep_dims")) {
      y = GlobalAveragePool(px, g.get("keep_dims"));
    } else {
      y = Pool(px, {g.get("max") != 0, g.ints("kernel"), g.ints("strides"),
                    g.ints("pads"), g.get("ceil_mode") != 0,
                    g.get("count_include_pad") != 0});
    }
    const Tensor& dy = g.tensor("dy");
    Output pdy = b.Placeholder("dy", dy.shape());
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> dx, Gradients({y}, {pdy}, {px}));
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, {{px, x}, {pdy, dy}}, {y, dx[0]}));
    ExpectTensorNear(out[0], g.tensor("y").shape(), ToDoubles(g.tensor("y")), 1e-5, 1e-5);
    ExpectTensorNear(out[1], x.shape(), ToDoubles(g.tensor("dx")), 1e-5, 1e-5);
    // The forward alone (max pooling skips its workspace then).
    NABLA_ASSERT_OK_AND_ASSIGN(auto alone, RunOnce(b, {{px, x}}, {y}));
    ExpectTensorNear(alone[0], g.tensor("y").shape(), ToDoubles(g.tensor("y")), 1e-5, 1e-5);
  }
}

}  // namespace
}  // namespace nabla
