// Grouped and depthwise Conv2D (Conv2DOptions::groups, PyTorch's groups):
// shapes, a plain double-precision reference, finite differences of every
// input and PyTorch goldens.

#include "graph/autodiff.h"
#include "ops/conv.h"
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

Conv2DOptions Grouped(int64_t groups, std::vector<int64_t> strides = {1, 1},
                      std::vector<int64_t> pads = {},
                      std::vector<int64_t> dilations = {1, 1}) {
  Conv2DOptions o;
  o.groups = groups;
  o.strides = strides;
  if (!pads.empty()) {
    o.padding = "explicit";
    o.explicit_paddings = pads;
  }
  o.dilations = dilations;
  return o;
}

TEST(GroupedConvShapeTest, Cases) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4, 8, 8});
  EXPECT_EQ(Conv2D(x, b.Placeholder("w", {6, 2, 3, 3}), Output(), Grouped(2))
                .shape(),
            Shape({kUnknownDim, 6, 6, 6}));
  // Depthwise with a channel multiplier of 2.
  EXPECT_EQ(Conv2D(x, b.Placeholder("dw", {8, 1, 3, 3}),
                   b.Placeholder("db", {8}), Grouped(4, {2, 2}, {1, 1, 1, 1}))
                .shape(),
            Shape({kUnknownDim, 8, 4, 4}));
  ASSERT_TRUE(b.ok()) << b.status();
}

TEST(GroupedConvShapeTest, Errors) {
  struct Case {
    Shape filters;
    int64_t groups;
    const char* message;
  };
  const Case cases[] = {
      {{6, 3, 3, 3}, 2,
       "x has 4 channels but the filters expect 3 per group in 2 groups"},
      {{6, 1, 3, 3}, 4, "groups 4 must divide the 6 filters"},
      {{6, 4, 3, 3}, 0, "groups must be a positive integer, got 0"},
      // groups 1 still reads the filters as [O, C, KH, KW].
      {{6, 2, 3, 3}, 1, "x has 4 channels but the filters expect 2"},
  };
  for (const Case& c : cases) {
    GraphBuilder b;
    Conv2D(b.Placeholder("x", {2, 4, 8, 8}), b.Placeholder("w", c.filters),
           Output(), Grouped(c.groups), "conv");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr(c.message)));
    EXPECT_THAT(std::string(b.status().message()),
                HasSubstr("Conv2D node 'conv' (inputs f32[2,4,8,8]"));
  }
}

// y[n, o, i, j] = bias[o] + sum over the channels c of o's group and the
// window (p, q) of x[n, c, i*s - pad + p*d, j*s - pad + q*d] * w[o, c, p, q].
std::vector<double> Reference(const Tensor& x, const Tensor& w,
                              const Tensor* bias, const Conv2DOptions& o,
                              Shape* shape) {
  const Shape &xs = x.shape(), &ws = w.shape();
  const int64_t n = xs[0], ch = xs[1], h = xs[2], wd = xs[3];
  const int64_t oc = ws[0], cg = ws[1], kh = ws[2], kw = ws[3];
  const int64_t og = oc / o.groups;
  std::vector<int64_t> pads = o.explicit_paddings;
  if (pads.empty()) pads = {0, 0, 0, 0};
  const int64_t oh = (h + pads[0] + pads[1] - ((kh - 1) * o.dilations[0] + 1)) /
                         o.strides[0] + 1;
  const int64_t ow = (wd + pads[2] + pads[3] - ((kw - 1) * o.dilations[1] + 1)) /
                         o.strides[1] + 1;
  *shape = Shape({n, oc, oh, ow});
  std::vector<double> y;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t f = 0; f < oc; ++f) {
      const int64_t group = f / og;
      for (int64_t i = 0; i < oh; ++i) {
        for (int64_t j = 0; j < ow; ++j) {
          double acc = bias ? bias->data<float>()[f] : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            for (int64_t p = 0; p < kh; ++p) {
              for (int64_t q = 0; q < kw; ++q) {
                int64_t r = i * o.strides[0] - pads[0] + p * o.dilations[0];
                int64_t s = j * o.strides[1] - pads[2] + q * o.dilations[1];
                if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                acc += double{x.data<float>()[((b * ch + group * cg + c) * h + r) * wd + s]} *
                       w.data<float>()[((f * cg + c) * kh + p) * kw + q];
              }
            }
          }
          y.push_back(acc);
        }
      }
    }
  }
  return y;
}

struct Config {
  Shape x, w;
  Conv2DOptions options;
};

std::vector<Config> Configs() {
  return {
      {{2, 4, 7, 7}, {6, 2, 3, 3}, Grouped(2)},
      {{2, 4, 7, 7}, {4, 1, 3, 3}, Grouped(4, {2, 2}, {1, 1, 1, 1})},
      {{1, 3, 8, 7}, {6, 1, 3, 2}, Grouped(3, {1, 2}, {2, 1, 0, 1}, {2, 1})},
      {{2, 8, 6, 6}, {8, 4, 3, 3}, Grouped(2, {1, 1}, {1, 1, 1, 1})},
      // Many channels: the blocked depthwise layouts.
      {{2, 32, 6, 6}, {32, 1, 3, 3}, Grouped(32, {1, 1}, {1, 1, 1, 1})},
  };
}

TEST(GroupedConvForwardTest, MatchesReference) {
  int seed = 1;
  for (const Config& c : Configs()) {
    SCOPED_TRACE(absl::StrCat("x ", c.x.ToString(), " w ", c.w.ToString()));
    Tensor x = RandomTensor(c.x, seed++), w = RandomTensor(c.w, seed++),
           bias = RandomTensor({c.w[0]}, seed++);
    GraphBuilder b;
    Output px = b.Placeholder("x", c.x.WithDim(0, kUnknownDim));
    Output pw = b.Placeholder("w", c.w), pb = b.Placeholder("b", bias.shape());
    Output y = Conv2D(px, pw, pb, c.options);
    Output y_nobias = Conv2D(px, pw, Output(), c.options);
    ASSERT_TRUE(b.ok()) << b.status();
    NABLA_ASSERT_OK_AND_ASSIGN(
        auto out, RunOnce(b, {{px, x}, {pw, w}, {pb, bias}}, {y, y_nobias}));
    Shape shape;
    std::vector<double> expected = Reference(x, w, &bias, c.options, &shape);
    ExpectTensorNear(out[0], shape, expected, 1e-5, 1e-5);
    expected = Reference(x, w, nullptr, c.options, &shape);
    ExpectTensorNear(out[1], shape, expected, 1e-5, 1e-5);
  }
}

TEST(GroupedConvGradientTest, FiniteDifferences) {
  int seed = 30;
  for (const Config& c : Configs()) {
    if (c.x[1] > 8) continue;  // the wide case only for the forward
    SCOPED_TRACE(absl::StrCat("x ", c.x.ToString(), " w ", c.w.ToString()));
    Tensor x = RandomTensor(c.x.WithDim(0, 1), seed++),
           w = RandomTensor(c.w, seed++), bias = RandomTensor({c.w[0]}, seed++);
    const Conv2DOptions options = c.options;
    CheckGradients(
        [options](GraphBuilder&, const std::vector<Output>& in) {
          return Conv2D(in[0], in[1], in[2], options);
        },
        {x, w, bias}, {0, 1, 2});
  }
}

TEST(GroupedConvGoldenTest, MatchesPyTorch) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<GoldenCase> cases, ReadGoldens("conv"));
  EXPECT_EQ(cases.size(), 4u);
  for (const GoldenCase& g : cases) {
    SCOPED_TRACE(g.name);
    const bool has_bias = g.get("bias") != 0;
    const Tensor& x = g.tensor("x");
    const Tensor& w = g.tensor("w");
    GraphBuilder b;
    Output px = b.Placeholder("x", x.shape()), pw = b.Placeholder("w", w.shape());
    Output pb;
    std::vector<std::pair<Output, Tensor>> feeds = {{px, x}, {pw, w}};
    if (has_bias) {
      pb = b.Placeholder("b", g.tensor("b").shape());
      feeds.push_back({pb, g.tensor("b")});
    }
    Output y = Conv2D(px, pw, pb,
                      Grouped(g.get("groups"), g.ints("strides"), g.ints("pads"),
                              g.ints("dilations")));
    const Tensor& dy = g.tensor("dy");
    Output pdy = b.Placeholder("dy", dy.shape());
    std::vector<Output> wrt = {px, pw};
    if (has_bias) wrt.push_back(pb);
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads, Gradients({y}, {pdy}, wrt));
    feeds.push_back({pdy, dy});
    std::vector<Output> fetches = {y};
    fetches.insert(fetches.end(), grads.begin(), grads.end());
    NABLA_ASSERT_OK_AND_ASSIGN(auto out, RunOnce(b, feeds, fetches));
    ExpectTensorNear(out[0], g.tensor("y").shape(), ToDoubles(g.tensor("y")), 1e-4, 1e-4);
    const char* names[] = {"dx", "dw", "db"};
    for (size_t i = 0; i < grads.size(); ++i) {
      SCOPED_TRACE(names[i]);
      ExpectTensorNear(out[1 + i], g.tensor(names[i]).shape(),
                       ToDoubles(g.tensor(names[i])), 1e-4, 1e-4);
    }
  }
}

}  // namespace
}  // namespace nabla
