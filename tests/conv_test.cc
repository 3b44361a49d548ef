#include "ops/conv.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "graph/autodiff.h"
#include "graph/builder.h"
#include "ops/arith.h"
#include "ops/pool.h"
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

Conv2DOptions Options(std::vector<int64_t> strides, std::string padding,
                      std::vector<int64_t> dilations = {1, 1},
                      std::vector<int64_t> explicit_paddings = {}) {
  Conv2DOptions options;
  options.strides = std::move(strides);
  options.padding = std::move(padding);
  options.dilations = std::move(dilations);
  options.explicit_paddings = std::move(explicit_paddings);
  return options;
}

Conv2DOptions WithRelu(Conv2DOptions options) {
  options.activation = Activation::kRelu;
  return options;
}

// ---------------------------------------------------------------------------
// A reference convolution: plain loops in double precision, with the
// geometry written out (pads before; the output size fixes the pads after).

struct RefGeometry {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};

// A dense NCHW (or OIHW) array of doubles.
struct Array4 {
  Array4() = default;
  Array4(int64_t d0, int64_t d1, int64_t d2, int64_t d3)
      : dims{d0, d1, d2, d3}, v(d0 * d1 * d2 * d3, 0.0) {}
  explicit Array4(const Tensor& t)
      : dims{t.shape()[0], t.shape()[1], t.shape()[2], t.shape()[3]},
        v(ToDoubles(t)) {}

  double& at(int64_t a, int64_t b, int64_t c, int64_t d) {
    return v[((a * dims[1] + b) * dims[2] + c) * dims[3] + d];
  }
  double at(int64_t a, int64_t b, int64_t c, int64_t d) const {
    return v[((a * dims[1] + b) * dims[2] + c) * dims[3] + d];
  }
  Shape shape() const { return Shape({dims[0], dims[1], dims[2], dims[3]}); }

  int64_t dims[4] = {0, 0, 0, 0};
  std::vector<double> v;
};

// Calls fn(n, o, oh, ow, c, ih, iw, kh, kw) for every product term of the
// convolution of x by w into an output of out_h x out_w.
template <typename Fn>
void ForEachTerm(const Array4& x, const Array4& w, int64_t out_h, int64_t out_w,
                 const RefGeometry& g, Fn fn) {
  for (int64_t n = 0; n < x.dims[0]; ++n) {
    for (int64_t o = 0; o < w.dims[0]; ++o) {
      for (int64_t oh = 0; oh < out_h; ++oh) {
        for (int64_t ow = 0; ow < out_w; ++ow) {
          for (int64_t c = 0; c < w.dims[1]; ++c) {
            for (int64_t kh = 0; kh < w.dims[2]; ++kh) {
              int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              if (ih < 0 || ih >= x.dims[2]) continue;
              for (int64_t kw = 0; kw < w.dims[3]; ++kw) {
                int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
                if (iw < 0 || iw >= x.dims[3]) continue;
                fn(n, o, oh, ow, c, ih, iw, kh, kw);
              }
            }
          }
        }
      }
    }
  }
}

Array4 RefConv(const Array4& x, const Array4& w,
               const std::vector<double>& bias, int64_t out_h, int64_t out_w,
               const RefGeometry& g, bool relu) {
  Array4 y(x.dims[0], w.dims[0], out_h, out_w);
  ForEachTerm(x, w, out_h, out_w, g,
              [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c,
                  int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
                y.at(n, o, oh, ow) += x.at(n, c, ih, iw) * w.at(o, c, kh, kw);
              });
  for (int64_t n = 0; n < y.dims[0]; ++n) {
    for (int64_t o = 0; o < y.dims[1]; ++o) {
      for (int64_t i = 0; i < out_h; ++i) {
        for (int64_t j = 0; j < out_w; ++j) {
          double& v = y.at(n, o, i, j);
          if (!bias.empty()) v += bias[o];
          if (relu) v = std::max(v, 0.0);
        }
      }
    }
  }
  return y;
}

// The gradient with respect to the filters of shape w_shape, from x and dz.
Array4 RefBackpropFilter(const Array4& x, const Array4& dz,
                         const Array4& w_shape, const RefGeometry& g) {
  Array4 dw(w_shape.dims[0], w_shape.dims[1], w_shape.dims[2], w_shape.dims[3]);
  ForEachTerm(x, w_shape, dz.dims[2], dz.dims[3], g,
              [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c,
                  int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
                dw.at(o, c, kh, kw) += x.at(n, c, ih, iw) * dz.at(n, o, oh, ow);
              });
  return dw;
}

// The gradient with respect to an input of x_shape, from dz and w.
Array4 RefBackpropInput(const Array4& dz, const Array4& w,
                        const Array4& x_shape, const RefGeometry& g) {
  Array4 dx(x_shape.dims[0], x_shape.dims[1], x_shape.dims[2], x_shape.dims[3]);
  ForEachTerm(x_shape, w, dz.dims[2], dz.dims[3], g,
              [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t c,
                  int64_t ih, int64_t iw, int64_t kh, int64_t kw) {
                dx.at(n, c, ih, iw) += w.at(o, c, kh, kw) * dz.at(n, o, oh, ow);
              });
  return dx;
}

// ---------------------------------------------------------------------------
// Shape inference.

struct ShapeCase {
  const char* name;
  Shape x;
  Shape filters;
  Conv2DOptions options;
  Shape expected;
};

class ConvShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(ConvShapeTest, InfersOutputShape) {
  const ShapeCase& c = GetParam();
  GraphBuilder b;
  Output y = Conv2D(b.Placeholder("x", c.x), b.Placeholder("w", c.filters),
                    Output(), c.options);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), c.expected);
  EXPECT_EQ(y.dtype(), DType::kF32);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConvShapeTest,
    ::testing::Values(
        ShapeCase{"Valid", {2, 3, 7, 7}, {4, 3, 3, 3}, {}, {2, 4, 5, 5}},
        ShapeCase{"UnknownBatch",
                  {kUnknownDim, 3, 7, 7},
                  {4, 3, 3, 3},
                  {},
                  {kUnknownDim, 4, 5, 5}},
        ShapeCase{"Same",
                  {2, 3, 7, 7},
                  {4, 3, 3, 3},
                  Options({1, 1}, "same"),
                  {2, 4, 7, 7}},
        ShapeCase{"SameEvenKernel",
                  {2, 3, 7, 6},
                  {4, 3, 2, 4},
                  Options({1, 1}, "same"),
                  {2, 4, 7, 6}},
        ShapeCase{"ValidStride2",
                  {1, 3, 7, 8},
                  {4, 3, 3, 3},
                  Options({2, 2}, "valid"),
                  {1, 4, 3, 3}},
        ShapeCase{"SameStride2",
                  {1, 3, 7, 8},
                  {4, 3, 3, 3},
                  Options({2, 2}, "same"),
                  {1, 4, 4, 4}},
        ShapeCase{"MixedStrides",
                  {1, 3, 9, 9},
                  {4, 3, 3, 3},
                  Options({3, 1}, "valid"),
                  {1, 4, 3, 7}},
        ShapeCase{"Explicit",
                  {1, 3, 7, 7},
                  {4, 3, 3, 3},
                  Options({1, 1}, "explicit", {1, 1}, {1, 2, 0, 3}),
                  {1, 4, 8, 8}},
        ShapeCase{"ExplicitStride2",
                  {1, 3, 7, 7},
                  {4, 3, 3, 3},
                  Options({2, 2}, "explicit", {1, 1}, {1, 1, 1, 1}),
                  {1, 4, 4, 4}},
        ShapeCase{"Dilation2",
                  {1, 3, 9, 9},
                  {4, 3, 3, 3},
                  Options({1, 1}, "valid", {2, 2}),
                  {1, 4, 5, 5}},
        ShapeCase{"Dilation2Same",
                  {1, 3, 9, 9},
                  {4, 3, 3, 3},
                  Options({1, 1}, "same", {2, 2}),
                  {1, 4, 9, 9}},
        ShapeCase{"DilationAndStride",
                  {1, 3, 11, 11},
                  {4, 3, 3, 3},
                  Options({2, 2}, "valid", {2, 3}),
                  {1, 4, 4, 3}},
        ShapeCase{
            "KernelEqualsInput", {5, 2, 4, 4}, {3, 2, 4, 4}, {}, {5, 3, 1, 1}},
        ShapeCase{"MnistConv1",
                  {kUnknownDim, 1, 28, 28},
                  {32, 1, 5, 5},
                  {},
                  {kUnknownDim, 32, 24, 24}},
        ShapeCase{"MnistConv2",
                  {kUnknownDim, 32, 12, 12},
                  {64, 32, 5, 5},
                  {},
                  {kUnknownDim, 64, 8, 8}}),
    [](const ::testing::TestParamInfo<ShapeCase>& info) {
      return std::string(info.param.name);
    });

TEST(ConvShapeTest, BiasAndReluKeepTheShape) {
  GraphBuilder b;
  Output y = Conv2D(b.Placeholder("x", {kUnknownDim, 1, 28, 28}),
                    b.Placeholder("w", {32, 1, 5, 5}),
                    b.Placeholder("bias", {32}), WithRelu({}));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(y.shape(), Shape({kUnknownDim, 32, 24, 24}));
}

struct ErrorCase {
  const char* name;
  Shape x;
  Shape filters;
  Conv2DOptions options;
  const char* message;
};

class ConvShapeErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConvShapeErrorTest, ReportsTheProblem) {
  const ErrorCase& c = GetParam();
  GraphBuilder b;
  Conv2D(b.Placeholder("x", c.x), b.Placeholder("w", c.filters), Output(),
         c.options);
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConvShapeErrorTest,
    ::testing::Values(
        ErrorCase{"ChannelMismatch",
                  {1, 3, 5, 5},
                  {4, 2, 3, 3},
                  {},
                  "x has 3 channels but the filters expect 2"},
        ErrorCase{"InputRank",
                  {3, 5, 5},
                  {4, 3, 3, 3},
                  {},
                  "x must be rank 4 [N, C, H, W], got [3,5,5]"},
        ErrorCase{"FilterRank",
                  {1, 3, 5, 5},
                  {4, 3, 3},
                  {},
                  "filters must be rank 4 [O, C, KH, KW], got [4,3,3]"},
        ErrorCase{"EmptyFilter",
                  {1, 3, 5, 5},
                  {0, 3, 3, 3},
                  {},
                  "filters [O, C, KH, KW] must have positive sizes"},
        ErrorCase{"KernelTallerThanInput",
                  {1, 1, 4, 6},
                  {1, 1, 5, 5},
                  {},
                  "the kernel's height 5 is larger than the input's height 4 "
                  "with padding \"valid\""},
        ErrorCase{"KernelWiderThanInput",
                  {1, 1, 6, 4},
                  {1, 1, 5, 5},
                  {},
                  "the kernel's width 5 is larger than the input's width 4"},
        ErrorCase{"DilatedKernelLargerThanInput",
                  {1, 1, 4, 4},
                  {1, 1, 3, 3},
                  Options({1, 1}, "valid", {2, 2}),
                  "the kernel's height 3 (5 dilated) is larger than the "
                  "input's height 4"},
        ErrorCase{"ExplicitPaddingTooSmall",
                  {1, 1, 2, 2},
                  {1, 1, 4, 4},
                  Options({1, 1}, "explicit", {1, 1}, {1, 0, 1, 1}),
                  "the kernel's height 4 is larger than the input's height 2 "
                  "padded to 3"},
        ErrorCase{"BadPadding",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({1, 1}, "full"),
                  "padding must be \"valid\", \"same\" or \"explicit\", got "
                  "\"full\""},
        ErrorCase{"ExplicitWithoutPads",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({1, 1}, "explicit"),
                  "padding \"explicit\" needs explicit_paddings of four "
                  "integers"},
        ErrorCase{"NegativePad",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({1, 1}, "explicit", {1, 1}, {0, 0, -1, 0}),
                  "needs explicit_paddings of four integers >= 0"},
        ErrorCase{"PadsWithoutExplicit",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({1, 1}, "same", {1, 1}, {1, 1, 1, 1}),
                  "explicit_paddings are given only with padding "
                  "\"explicit\""},
        ErrorCase{"ZeroStride",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({0, 1}, "valid"),
                  "strides must be two positive integers, got [0,1]"},
        ErrorCase{"OneStride",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({2}, "valid"),
                  "strides must be two positive integers, got [2]"},
        ErrorCase{"ZeroDilation",
                  {1, 1, 5, 5},
                  {1, 1, 3, 3},
                  Options({1, 1}, "valid", {0, 1}),
                  "dilations must be two positive integers (1 for none)"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(ConvShapeErrorTest, MessageNamesOpNodeAndInputs) {
  GraphBuilder b;
  Conv2D(b.Placeholder("x", {1, 3, 5, 5}), b.Placeholder("w", {4, 2, 3, 3}),
         Output(), {}, "conv");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2D node 'conv' (inputs f32[1,3,5,5], "
                                 "f32[4,2,3,3]): x has 3 channels")));
}

TEST(ConvShapeErrorTest, RejectsBiasOfWrongSize) {
  GraphBuilder b;
  Conv2D(b.Placeholder("x", {1, 3, 5, 5}), b.Placeholder("w", {4, 3, 3, 3}),
         b.Placeholder("bias", {5}), {}, "conv");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Conv2DWithBias node 'conv' (inputs "
                                 "f32[1,3,5,5], f32[4,3,3,3], f32[5]): bias "
                                 "must be [4] (one per filter), got [5]")));
}

TEST(ConvShapeErrorTest, RejectsIntegerInput) {
  GraphBuilder b;
  Conv2D(b.Placeholder("x", {1, 3, 5, 5}, DType::kI32),
         b.Placeholder("w", {4, 3, 3, 3}));
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be f32, got i32")));
}

TEST(ConvShapeErrorTest, RejectsUnknownActivation) {
  GraphBuilder b;
  b.AddOp1("Conv2D",
           {b.Placeholder("x", {1, 3, 5, 5}), b.Placeholder("w", {4, 3, 3, 3})},
           {{"activation", StringAttr("gelu")}});
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("activation must be \"linear\" or \"relu\", "
                                 "got \"gelu\"")));
}

// The gradient ops resolve an unknown batch from dy.
TEST(ConvGradShapeTest, BackpropInputTakesBatchFromDy) {
  GraphBuilder b;
  Output dy = b.Placeholder("dy", {kUnknownDim, 4, 4, 4});
  Output w = b.Placeholder("w", {4, 3, 3, 3});
  Output dx = Conv2DBackpropInput(dy, w, {kUnknownDim, 3, 7, 8},
                                  Options({2, 2}, "same"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(dx.shape(), Shape({kUnknownDim, 3, 7, 8}));

  // At compile time the fed batch reaches dx.
  Tensor dy_value = RandomTensor({2, 4, 4, 4}, 1);
  Tensor w_value = RandomTensor({4, 3, 3, 3}, 2);
  NABLA_ASSERT_OK_AND_ASSIGN(auto out,
                             RunOnce(b, {{dy, dy_value}, {w, w_value}}, {dx}));
  EXPECT_EQ(out[0].shape(), Shape({2, 3, 7, 8}));
}

TEST(ConvGradShapeTest, BackpropFilterHasFilterAndBiasShapes) {
  GraphBuilder b;
  std::vector<Output> grads = Conv2DBackpropFilter(
      b.Placeholder("x", {kUnknownDim, 3, 7, 7}),
      b.Placeholder("dy", {kUnknownDim, 4, 5, 5}), {4, 3, 3, 3});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(grads.size(), 2u);
  EXPECT_EQ(grads[0].shape(), Shape({4, 3, 3, 3}));
  EXPECT_EQ(grads[1].shape(), Shape({4}));
}

TEST(ConvGradShapeTest, RejectsDyOfTheWrongShape) {
  GraphBuilder b;
  Conv2DBackpropInput(b.Placeholder("dy", {2, 4, 6, 6}),
                      b.Placeholder("w", {4, 3, 3, 3}), {2, 3, 7, 7});
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dy is [2,4,6,6] but convolving [2,3,7,7] "
                                 "by [4,3,3,3] gives [2,4,5,5]")));
}

TEST(ConvGradShapeTest, RejectsUnknownSpatialSizeInInputShape) {
  GraphBuilder b;
  Conv2DBackpropInput(b.Placeholder("dy", {2, 4, 5, 5}),
                      b.Placeholder("w", {4, 3, 3, 3}), {2, 3, kUnknownDim, 7});
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input_shape [2,3,?,7] may leave only the "
                                 "batch unknown")));
}

// ---------------------------------------------------------------------------
// Forward against the reference.

struct ForwardCase {
  const char* name;
  Shape x;
  Shape filters;
  bool bias;
  Conv2DOptions options;
  RefGeometry geometry;  // what `options` should mean
  Shape expected;
};

class ConvForwardTest : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(ConvForwardTest, MatchesReference) {
  const ForwardCase& c = GetParam();
  GraphBuilder b;
  Output x = b.Placeholder("x", c.x.WithDim(0, kUnknownDim));
  Output w = b.Placeholder("w", c.filters);
  Output bias = c.bias ? b.Placeholder("bias", {c.filters[0]}) : Output();
  Output y = Conv2D(x, w, bias, c.options);
  ASSERT_TRUE(b.ok()) << b.status();

  Tensor x_value = RandomTensor(c.x, 11);
  Tensor w_value = RandomTensor(c.filters, 12);
  Tensor bias_value = RandomTensor({c.filters[0]}, 13);
  std::vector<std::pair<Output, Tensor>> feeds = {{x, x_value}, {w, w_value}};
  if (c.bias) feeds.push_back({bias, bias_value});
  NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, feeds, {y}));

  bool relu = c.options.activation == Activation::kRelu;
  Array4 expected =
      RefConv(Array4(x_value), Array4(w_value),
              c.bias ? ToDoubles(bias_value) : std::vector<double>(),
              c.expected[2], c.expected[3], c.geometry, relu);
  // Sums of at most a few hundred f32 products of values below 1.
  ExpectTensorNear(out[0], c.expected, expected.v, 1e-5, 1e-5);
}

RefGeometry Geom(int64_t stride_h, int64_t stride_w, int64_t pad_top,
                 int64_t pad_left, int64_t dilation_h = 1,
                 int64_t dilation_w = 1) {
  RefGeometry g;
  g.stride_h = stride_h;
  g.stride_w = stride_w;
  g.pad_top = pad_top;
  g.pad_left = pad_left;
  g.dilation_h = dilation_h;
  g.dilation_w = dilation_w;
  return g;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConvForwardTest,
    ::testing::Values(ForwardCase{"Valid",
                                  {2, 3, 6, 7},
                                  {4, 3, 3, 2},
                                  false,
                                  {},
                                  Geom(1, 1, 0, 0),
                                  {2, 4, 4, 6}},
                      ForwardCase{"Bias",
                                  {2, 3, 6, 7},
                                  {4, 3, 3, 2},
                                  true,
                                  {},
                                  Geom(1, 1, 0, 0),
                                  {2, 4, 4, 6}},
                      ForwardCase{"BiasRelu",
                                  {2, 3, 6, 7},
                                  {4, 3, 3, 2},
                                  true,
                                  WithRelu({}),
                                  Geom(1, 1, 0, 0),
                                  {2, 4, 4, 6}},
                      ForwardCase{"ReluWithoutBias",
                                  {2, 3, 6, 7},
                                  {4, 3, 3, 2},
                                  false,
                                  WithRelu({}),
                                  Geom(1, 1, 0, 0),
                                  {2, 4, 4, 6}},
                      ForwardCase{"Stride2",
                                  {2, 3, 9, 8},
                                  {5, 3, 3, 3},
                                  true,
                                  Options({2, 2}, "valid"),
                                  Geom(2, 2, 0, 0),
                                  {2, 5, 4, 3}},
                      // Height: 4 outputs need 2 rows of padding, 1 on top.
                      // Width: 1 column, at the right.
                      ForwardCase{"SameStride2",
                                  {2, 3, 7, 8},
                                  {4, 3, 3, 3},
                                  true,
                                  Options({2, 2}, "same"),
                                  Geom(2, 2, 1, 0),
                                  {2, 4, 4, 4}},
                      ForwardCase{"Same",
                                  {1, 2, 6, 5},
                                  {3, 2, 5, 3},
                                  true,
                                  WithRelu(Options({1, 1}, "same")),
                                  Geom(1, 1, 2, 1),
                                  {1, 3, 6, 5}},
                      ForwardCase{"Dilation2",
                                  {2, 2, 9, 8},
                                  {3, 2, 3, 3},
                                  true,
                                  Options({1, 1}, "valid", {2, 2}),
                                  Geom(1, 1, 0, 0, 2, 2),
                                  {2, 3, 5, 4}},
                      ForwardCase{"Dilation2Same",
                                  {1, 2, 8, 8},
                                  {3, 2, 3, 3},
                                  false,
                                  Options({1, 1}, "same", {2, 2}),
                                  Geom(1, 1, 2, 2, 2, 2),
                                  {1, 3, 8, 8}},
                      ForwardCase{"DilationStrideExplicit",
                                  {2, 3, 10, 9},
                                  {4, 3, 3, 2},
                                  true,
                                  WithRelu(Options({2, 1}, "explicit", {2, 3},
                                                   {1, 2, 0, 3})),
                                  Geom(2, 1, 1, 0, 2, 3),
                                  {2, 4, 5, 9}},
                      ForwardCase{"OneInputChannel",
                                  {3, 1, 12, 12},
                                  {8, 1, 5, 5},
                                  true,
                                  WithRelu({}),
                                  Geom(1, 1, 0, 0),
                                  {3, 8, 8, 8}}),
    [](const ::testing::TestParamInfo<ForwardCase>& info) {
      return std::string(info.param.name);
    });

// An empty batch gives empty outputs, and zero gradients for the filters.
TEST(ConvForwardTest, EmptyBatch) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 5, 5});
  Output w = b.Placeholder("w", {3, 2, 3, 3});
  Output bias = b.Placeholder("bias", {3});
  Output y = Conv2D(x, w, bias);
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(Sum(y), {x, w, bias}));
  NABLA_ASSERT_OK_AND_ASSIGN(auto out,
                             RunOnce(b,
                                     {{x, Tensor(DType::kF32, {0, 2, 5, 5})},
                                      {w, RandomTensor({3, 2, 3, 3}, 1)},
                                      {bias, RandomTensor({3}, 2)}},
                                     {y, grads[0], grads[1], grads[2]}));
  EXPECT_EQ(out[0].shape(), Shape({0, 3, 3, 3}));
  EXPECT_EQ(out[1].shape(), Shape({0, 2, 5, 5}));
  ExpectTensorNear(out[2], {3, 2, 3, 3}, std::vector<double>(54, 0.0));
  ExpectTensorNear(out[3], {3}, std::vector<double>(3, 0.0));
}

// ---------------------------------------------------------------------------
// Gradients against finite differences. Every check uses a step of 0.01 and
// accepts |autodiff - numeric| <= 2e-3 + 2e-2 |numeric|: a convolution is
// linear in each input, so the central difference has no truncation error
// and the tolerance only covers f32 rounding of the loss (~1e-7 |loss| / h).

struct GradCase {
  const char* name;
  Shape x;
  Shape filters;
  bool bias;
  Conv2DOptions options;
};

class ConvGradientTest : public ::testing::TestWithParam<GradCase> {};

TEST_P(ConvGradientTest, MatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  std::vector<Tensor> inputs = {RandomTensor(c.x, 21),
                                RandomTensor(c.filters, 22)};
  std::vector<int> wrt = {0, 1};
  if (c.bias) {
    inputs.push_back(RandomTensor({c.filters[0]}, 23));
    wrt.push_back(2);
  }
  const Conv2DOptions options = c.options;
  const bool bias = c.bias;
  CheckGradients(
      [options, bias](GraphBuilder&, const std::vector<Output>& in) {
        return Conv2D(in[0], in[1], bias ? in[2] : Output(), options);
      },
      inputs, wrt);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ConvGradientTest,
    ::testing::Values(
        GradCase{"Valid", {2, 2, 5, 5}, {3, 2, 3, 3}, false, {}},
        GradCase{"ValidBias", {2, 2, 5, 5}, {3, 2, 3, 3}, true, {}},
        GradCase{"SameStride2",
                 {1, 2, 6, 7},
                 {3, 2, 3, 2},
                 true,
                 Options({2, 2}, "same")},
        GradCase{"Dilation2",
                 {1, 2, 7, 6},
                 {2, 2, 3, 2},
                 true,
                 Options({1, 1}, "valid", {2, 2})},
        GradCase{"ExplicitStride",
                 {2, 2, 5, 6},
                 {2, 2, 2, 3},
                 true,
                 Options({2, 1}, "explicit", {1, 1}, {1, 0, 2, 1})},
        GradCase{"OneInputChannel", {2, 1, 7, 7}, {4, 1, 3, 3}, true, {}}),
    [](const ::testing::TestParamInfo<GradCase>& info) {
      return std::string(info.param.name);
    });

// With the fused ReLU, every pre-activation value is kept at least 0.05 from
// the kink at 0. A step of 0.01 in one input moves a pre-activation by at
// most 0.01 (all inputs lie in [-1, 1]), so no difference crosses the kink.
TEST(ConvGradientTest, FusedReluMatchesFiniteDifferences) {
  const Shape x_shape = {2, 2, 5, 5}, w_shape = {3, 2, 3, 3};
  Tensor x = RandomTensor(x_shape, 31);
  Tensor w = RandomTensor(w_shape, 32);
  Tensor bias = RandomTensor({3}, 33);
  Array4 z = RefConv(Array4(x), Array4(w), ToDoubles(bias), 3, 3, RefGeometry(),
                     /*relu=*/false);
  int positive = 0;
  for (double v : z.v) {
    ASSERT_GT(std::abs(v), 0.05) << "inputs too close to the ReLU's kink";
    positive += v > 0;
  }
  // Both sides of the kink take part.
  EXPECT_GT(positive, 5);
  EXPECT_LT(positive, static_cast<int>(z.v.size()) - 5);
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Conv2D(in[0], in[1], in[2], WithRelu({}));
      },
      {x, w, bias}, {0, 1, 2});
}

// ---------------------------------------------------------------------------
// The lecture's MNIST model at batch 4: conv 5x5 (32) + ReLU, max pool 2x2,
// conv 5x5 (64) + ReLU, max pool 2x2. Each stage is checked against the
// reference applied to the values nabla computed for the stage before, so
// that the pooling's choice of maximum is made on identical numbers.

Array4 RefMaxPool2x2(const Array4& x) {
  Array4 y(x.dims[0], x.dims[1], x.dims[2] / 2, x.dims[3] / 2);
  for (int64_t n = 0; n < y.dims[0]; ++n) {
    for (int64_t c = 0; c < y.dims[1]; ++c) {
      for (int64_t i = 0; i < y.dims[2]; ++i) {
        for (int64_t j = 0; j < y.dims[3]; ++j) {
          double m = x.at(n, c, 2 * i, 2 * j);
          for (int a = 0; a < 2; ++a) {
            for (int b = 0; b < 2; ++b) {
              m = std::max(m, x.at(n, c, 2 * i + a, 2 * j + b));
            }
          }
          y.at(n, c, i, j) = m;
        }
      }
    }
  }
  return y;
}

// The gradient of a 2x2 max pooling followed by (before it, in the forward
// direction) a ReLU with output x: dy goes to the window's maximum, and
// nowhere where x is 0. Which of several tied maxima receives it does not
// matter: ties in ReLU outputs are zeros.
Array4 RefReluMaxPoolGrad(const Array4& x, const Array4& dy) {
  Array4 dx(x.dims[0], x.dims[1], x.dims[2], x.dims[3]);
  for (int64_t n = 0; n < dy.dims[0]; ++n) {
    for (int64_t c = 0; c < dy.dims[1]; ++c) {
      for (int64_t i = 0; i < dy.dims[2]; ++i) {
        for (int64_t j = 0; j < dy.dims[3]; ++j) {
          int64_t best_h = 2 * i, best_w = 2 * j;
          for (int a = 0; a < 2; ++a) {
            for (int b = 0; b < 2; ++b) {
              if (x.at(n, c, 2 * i + a, 2 * j + b) >
                  x.at(n, c, best_h, best_w)) {
                best_h = 2 * i + a;
                best_w = 2 * j + b;
              }
            }
          }
          if (x.at(n, c, best_h, best_w) > 0) {
            dx.at(n, c, best_h, best_w) = dy.at(n, c, i, j);
          }
        }
      }
    }
  }
  return dx;
}

std::vector<double> BiasGrad(const Array4& dz) {
  std::vector<double> db(dz.dims[1], 0.0);
  for (int64_t n = 0; n < dz.dims[0]; ++n) {
    for (int64_t c = 0; c < dz.dims[1]; ++c) {
      for (int64_t i = 0; i < dz.dims[2]; ++i) {
        for (int64_t j = 0; j < dz.dims[3]; ++j) db[c] += dz.at(n, c, i, j);
      }
    }
  }
  return db;
}

TEST(ConvMnistTest, ForwardAndBackwardMatchReference) {
  GraphBuilder b;
  Output x = b.Placeholder("images", {kUnknownDim, 1, 28, 28});
  Output w1 = b.Placeholder("w1", {32, 1, 5, 5});
  Output b1 = b.Placeholder("b1", {32});
  Output w2 = b.Placeholder("w2", {64, 32, 5, 5});
  Output b2 = b.Placeholder("b2", {64});
  Output h1 = Conv2D(x, w1, b1, WithRelu({}));
  Output p1 = MaxPool2D(h1, {2, 2});
  Output h2 = Conv2D(p1, w2, b2, WithRelu({}));
  Output p2 = MaxPool2D(h2, {2, 2});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(h1.shape(), Shape({kUnknownDim, 32, 24, 24}));
  EXPECT_EQ(p1.shape(), Shape({kUnknownDim, 32, 12, 12}));
  EXPECT_EQ(h2.shape(), Shape({kUnknownDim, 64, 8, 8}));
  EXPECT_EQ(p2.shape(), Shape({kUnknownDim, 64, 4, 4}));

  const int64_t n = 4;
  Tensor r = RandomTensor({n, 64, 4, 4}, 40, 0.5f, 1.5f);
  Output loss = Sum(Mul(p2, b.Constant(r)));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {w1, b1, w2, b2, p1}));

  // Scaled like Glorot-initialized weights on [0, 1] pixels.
  Tensor images = RandomTensor({n, 1, 28, 28}, 41, 0.0f, 1.0f);
  Tensor w1_value = RandomTensor({32, 1, 5, 5}, 42, -0.3f, 0.3f);
  Tensor b1_value = RandomTensor({32}, 43, -0.1f, 0.1f);
  Tensor w2_value = RandomTensor({64, 32, 5, 5}, 44, -0.06f, 0.06f);
  Tensor b2_value = RandomTensor({64}, 45, -0.1f, 0.1f);
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b,
                        {{x, images},
                         {w1, w1_value},
                         {b1, b1_value},
                         {w2, w2_value},
                         {b2, b2_value}},
                        {h1, p1, h2, p2, grads[0], grads[1], grads[2], grads[3],
                         grads[4]}));
  const Array4 h1_out(out[0]), p1_out(out[1]), h2_out(out[2]);

  // Forward, stage by stage.
  Array4 h1_ref = RefConv(Array4(images), Array4(w1_value), ToDoubles(b1_value),
                          24, 24, RefGeometry(), true);
  ExpectTensorNear(out[0], {n, 32, 24, 24}, h1_ref.v, 1e-5, 1e-5);
  ExpectTensorNear(out[1], {n, 32, 12, 12}, RefMaxPool2x2(h1_out).v, 0, 0);
  Array4 h2_ref = RefConv(p1_out, Array4(w2_value), ToDoubles(b2_value), 8, 8,
                          RefGeometry(), true);
  ExpectTensorNear(out[2], {n, 64, 8, 8}, h2_ref.v, 1e-5, 1e-5);
  ExpectTensorNear(out[3], {n, 64, 4, 4}, RefMaxPool2x2(h2_out).v, 0, 0);

  // Backward: conv2's filter, bias and input gradients from the reference
  // gradient at its output.
  Array4 dz2 = RefReluMaxPoolGrad(h2_out, Array4(r));
  Array4 w2_array(w2_value);
  ExpectTensorNear(out[6], {64, 32, 5, 5},
                   RefBackpropFilter(p1_out, dz2, w2_array, RefGeometry()).v,
                   1e-4, 1e-5);
  ExpectTensorNear(out[7], {64}, BiasGrad(dz2), 1e-4, 1e-5);
  ExpectTensorNear(out[8], {n, 32, 12, 12},
                   RefBackpropInput(dz2, w2_array, p1_out, RefGeometry()).v,
                   1e-5, 1e-5);
  // conv1's, from nabla's gradient at p1.
  Array4 dz1 = RefReluMaxPoolGrad(h1_out, Array4(out[8]));
  ExpectTensorNear(
      out[4], {32, 1, 5, 5},
      RefBackpropFilter(Array4(images), dz1, Array4(w1_value), RefGeometry()).v,
      1e-4, 1e-5);
  ExpectTensorNear(out[5], {32}, BiasGrad(dz1), 1e-4, 1e-5);

  // A few values written out, as a guard against a reference that is wrong
  // in the same way as the kernels.
  double manual = b1_value.data<float>()[3];
  for (int kh = 0; kh < 5; ++kh) {
    for (int kw = 0; kw < 5; ++kw) {
      manual += images.data<float>()[(1 * 28 + 10 + kh) * 28 + 7 + kw] *
                w1_value.data<float>()[(3 * 5 + kh) * 5 + kw];
    }
  }
  EXPECT_NEAR(out[0].data<float>()[((1 * 32 + 3) * 24 + 10) * 24 + 7],
              std::max(manual, 0.0), 1e-5);
}

// A fused ReLU followed by a max pooling: the ReLU's backward runs on the
// pooled gradient (a ReluGrad of the pooled shape, none of the full one), and
// the gradient of the ReLU's output itself is still the plain pooling
// gradient, which reaches a window's maximum even where that maximum is 0.
TEST(ConvMnistTest, ReluBackwardRunsOnThePooledGradient) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {1, 1, 4, 4});
  Output w = b.Placeholder("w", {1, 1, 1, 1});
  Output h = Conv2D(x, w, Output(), WithRelu({}));
  Output p = MaxPool2D(h, {2, 2});
  Tensor r = RandomTensor({1, 1, 2, 2}, 60, 0.5f, 1.5f);
  Output loss = Sum(Mul(p, b.Constant(r)));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {x, h}));

  int pooled_masks = 0, full_masks = 0;
  for (const Node& node : b.graph().nodes()) {
    if (node.op() != "ReluGrad") continue;
    const Shape& shape = node.outputs[0].shape;
    pooled_masks += shape == Shape({1, 1, 2, 2});
    full_masks += shape == Shape({1, 1, 4, 4});
  }
  EXPECT_EQ(pooled_masks, 1);
  EXPECT_EQ(full_masks, 0);

  // The top-left window is all negative (so 0 after the ReLU), the others
  // have a positive maximum.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Tensor images, Tensor::FromVector<float>({1, 1, 4, 4},
                                               {-1, -2, 3, 1,   //
                                                -3, -4, 2, 0,   //
                                                5, -1, -1, -2,  //
                                                0, 1, -3, 4}));
  NABLA_ASSERT_OK_AND_ASSIGN(Tensor one,
                             Tensor::FromVector<float>({1, 1, 1, 1}, {1}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{x, images}, {w, one}}, {grads[0], grads[1]}));
  const float* rv = r.data<float>();
  ExpectTensorNear(out[0], {1, 1, 4, 4},
                   {0, 0, rv[1], 0,  //
                    0, 0, 0, 0,      //
                    rv[2], 0, 0, 0,  //
                    0, 0, 0, rv[3]},
                   0, 0);
  // d loss / d h: the all-zero window passes its gradient to one of its
  // (tied) elements.
  std::vector<double> dh = ToDoubles(out[1]);
  EXPECT_EQ(dh[0] + dh[1] + dh[4] + dh[5], rv[0]);
  EXPECT_EQ(dh[2], rv[1]);
  EXPECT_EQ(dh[8], rv[2]);
  EXPECT_EQ(dh[15], rv[3]);
}

// ---------------------------------------------------------------------------
// A compiled plan is deterministic: running conv forward and backward again
// gives the same bits, also after a run on other inputs has left its values
// in the plan's reused buffers.

TEST(ConvPlanTest, RerunsAreBitwiseIdentical) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 1, 28, 28});
  Output w1 = b.Placeholder("w1", {32, 1, 5, 5});
  Output b1 = b.Placeholder("b1", {32});
  Output w2 = b.Placeholder("w2", {16, 32, 3, 3});
  Output h1 = Conv2D(x, w1, b1, WithRelu({}));
  Output h2 = Conv2D(h1, w2, Output(), Options({2, 2}, "same"));
  Output loss = Sum(Mul(h2, h2));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {x, w1, b1, w2}));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  const Shape x_shape = {8, 1, 28, 28};
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan,
      session->Compile({{x, x_shape},
                        {w1, Shape({32, 1, 5, 5})},
                        {b1, Shape({32})},
                        {w2, Shape({16, 32, 3, 3})}},
                       {loss, h2, grads[0], grads[1], grads[2], grads[3]}));

  std::vector<Tensor> feeds = {RandomTensor(x_shape, 51),
                               RandomTensor({32, 1, 5, 5}, 52, -0.3f, 0.3f),
                               RandomTensor({32}, 53, -0.1f, 0.1f),
                               RandomTensor({16, 32, 3, 3}, 54, -0.1f, 0.1f)};
  std::vector<Tensor> other_feeds = {
      RandomTensor(x_shape, 61, -5, 5), RandomTensor({32, 1, 5, 5}, 62),
      RandomTensor({32}, 63), RandomTensor({16, 32, 3, 3}, 64)};

  std::vector<Tensor> first, second, third;
  NABLA_ASSERT_OK(plan->Run(feeds, &first));
  NABLA_ASSERT_OK(plan->Run(feeds, &second));
  std::vector<Tensor> other;
  NABLA_ASSERT_OK(plan->Run(other_feeds, &other));
  NABLA_ASSERT_OK(plan->Run(feeds, &third));
  ASSERT_EQ(first.size(), 6u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_TRUE(first[i].BitwiseEquals(second[i])) << "fetch " << i;
    EXPECT_TRUE(first[i].BitwiseEquals(third[i])) << "fetch " << i;
  }
  EXPECT_FALSE(first[0].BitwiseEquals(other[0]));
}

}  // namespace
}  // namespace nabla
