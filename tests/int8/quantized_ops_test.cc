// The int8 ops of ops/quantized.h against the quantized arithmetic computed
// in double precision by plain loops (the formula in the header comment).

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "graph/builder.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

Tensor RandomU8(const Shape& shape, uint64_t seed, int max = 255) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(0, max);
  Tensor t(DType::kU8, shape);
  for (uint8_t& v : t.flat<uint8_t>()) v = static_cast<uint8_t>(dist(rng));
  return t;
}

// The header's weight quantization, rewritten independently.
void ReferenceWeights(const std::vector<double>& w, int64_t channels,
                      int64_t per_channel, std::vector<double>* q,
                      std::vector<double>* scale) {
  q->assign(channels * per_channel, 0);
  scale->assign(channels, 1);
  for (int64_t o = 0; o < channels; ++o) {
    double max_abs = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      max_abs = std::max(max_abs, std::fabs(w[o * per_channel + k]));
    }
    // The limit this CPU's kernels use (ops/quantized.h).
    (*scale)[o] = max_abs > 0 ? static_cast<float>(max_abs) / Int8WeightLimit() : 1.0;
    for (int64_t k = 0; k < per_channel; ++k) {
      (*q)[o * per_channel + k] = std::nearbyint(
          static_cast<float>(w[o * per_channel + k]) /
          static_cast<float>((*scale)[o]));
    }
  }
}

// real -> the op's output: f32 as is, or requantized to u8.
double Finish(double real, const QuantizedOptions& o) {
  if (o.relu) real = std::max(real, 0.0);
  if (o.output_type == DType::kF32) return real;
  return std::min(255.0, std::max(0.0, std::nearbyint(real / o.output_scale)));
}

// Expects u8 outputs within one unit (rounding of a value at a tie) and f32
// outputs within float rounding of the reference.
void ExpectOutputs(const Tensor& actual, const std::vector<double>& expected,
                   DType type) {
  ASSERT_EQ(actual.dtype(), type);
  ASSERT_EQ(actual.num_elements(), static_cast<int64_t>(expected.size()));
  std::vector<double> got = testing::ToDoubles(actual);
  int exact = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = type == DType::kU8 ? 1.0 : 1e-4 + 1e-4 * std::fabs(expected[i]);
    ASSERT_NEAR(got[i], expected[i], tol) << "element " << i;
    exact += got[i] == expected[i];
  }
  if (type == DType::kU8) {
    EXPECT_GE(exact, static_cast<int>(0.97 * got.size()));
  }
}

struct ConvCase {
  std::string padding;
  int64_t stride;
  DType output_type;
  bool relu;
};

class QuantizedConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(QuantizedConvTest, MatchesTheQuantizedArithmetic) {
  const ConvCase& param = GetParam();
  const int64_t n = 2, c = 3, h = 9, w = 8, o = 5, kh = 3, kw = 3;
  Tensor x = RandomU8({n, c, h, w}, 1);
  Tensor filters = RandomTensor({o, c, kh, kw}, 2, -0.5f, 0.5f);
  Tensor bias = RandomTensor({o}, 3, -0.3f, 0.3f);
  QuantizedOptions opt;
  opt.input_scale = 1.0f / 255;
  opt.output_scale = 0.01f;
  opt.output_type = param.output_type;
  opt.relu = param.relu;
  opt.strides = {param.stride, param.stride};
  opt.padding = param.padding;

  GraphBuilder b;
  Output xp = b.Placeholder("x", {kUnknownDim, c, h, w}, DType::kU8);
  Output fv = b.Variable("f", {o, c, kh, kw}, Initializer::Value(filters));
  Output bv = b.Variable("b", {o}, Initializer::Value(bias));
  Output y = QuantizedConv2D(xp, fv, bv, opt, "conv");
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOnce(b, {{xp, x}}, {y}));

  std::vector<double> q, scale;
  ReferenceWeights(testing::ToDoubles(filters), o, c * kh * kw, &q, &scale);
  const bool same = param.padding == "same";
  const int64_t s = param.stride;
  const int64_t oh = same ? (h + s - 1) / s : (h - kh) / s + 1;
  const int64_t ow = same ? (w + s - 1) / s : (w - kw) / s + 1;
  const int64_t pad_t = same ? std::max<int64_t>((oh - 1) * s + kh - h, 0) / 2 : 0;
  const int64_t pad_l = same ? std::max<int64_t>((ow - 1) * s + kw - w, 0) / 2 : 0;
  ASSERT_EQ(out[0].shape(), Shape({n, o, oh, ow}));
  const uint8_t* xd = x.data<uint8_t>();
  const float* bd = bias.data<float>();
  std::vector<double> expected;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t io = 0; io < o; ++io)
      for (int64_t y0 = 0; y0 < oh; ++y0)
        for (int64_t x0 = 0; x0 < ow; ++x0) {
          double acc = 0;
          for (int64_t ic = 0; ic < c; ++ic)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t yy = y0 * s + i - pad_t, xx = x0 * s + j - pad_l;
                if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                acc += xd[((in * c + ic) * h + yy) * w + xx] *
                       q[((io * c + ic) * kh + i) * kw + j];
              }
          const double acc_scale = double{opt.input_scale} * scale[io];
          expected.push_back(Finish(acc_scale * (acc + bd[io] / acc_scale), opt));
        }
  ExpectOutputs(out[0], expected, param.output_type);
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, QuantizedConvTest,
    ::testing::Values(ConvCase{"valid", 1, DType::kU8, true},
                      ConvCase{"valid", 1, DType::kF32, true},
                      ConvCase{"same", 2, DType::kU8, true},
                      ConvCase{"same", 1, DType::kF32, false}));

class QuantizedDenseTest : public ::testing::TestWithParam<bool> {};

// Dense of a u8 [N, K] or of a u8 [N, C, H, W] read as Flatten would.
TEST_P(QuantizedDenseTest, MatchesTheQuantizedArithmetic) {
  const bool four_d = GetParam();
  const int64_t n = 6, k = 2 * 3 * 4, m = 7;
  const Shape x_shape = four_d ? Shape({n, 2, 3, 4}) : Shape({n, k});
  Tensor x = RandomU8(x_shape, 4);
  Tensor weights = RandomTensor({k, m}, 5, -0.2f, 0.2f);
  Tensor bias = RandomTensor({m}, 6, -1.0f, 1.0f);
  for (DType type : {DType::kU8, DType::kF32}) {
    QuantizedOptions opt;
    opt.input_scale = 0.004f;
    opt.output_scale = 0.008f;
    opt.output_type = type;
    opt.relu = type == DType::kU8;
    GraphBuilder b;
    Output xp = b.Placeholder("x", x_shape.WithDim(0, kUnknownDim), DType::kU8);
    Output wv = b.Variable("w", {k, m}, Initializer::Value(weights));
    Output bv = b.Variable("b", {m}, Initializer::Value(bias));
    Output y = QuantizedDense(xp, wv, bv, opt, "dense");
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
                               RunOnce(b, {{xp, x}}, {y}));
    ASSERT_EQ(out[0].shape(), Shape({n, m}));
    // Transposed to [O, K] for the per-channel reference.
    std::vector<double> wt(m * k), q, scale;
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < m; ++j) wt[j * k + i] = weights.data<float>()[i * m + j];
    ReferenceWeights(wt, m, k, &q, &scale);
    std::vector<double> expected;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < m; ++j) {
        double acc = 0;
        for (int64_t i = 0; i < k; ++i) acc += x.data<uint8_t>()[r * k + i] * q[j * k + i];
        const double acc_scale = double{opt.input_scale} * scale[j];
        expected.push_back(
            Finish(acc_scale * (acc + bias.data<float>()[j] / acc_scale), opt));
      }
    ExpectOutputs(out[0], expected, type);
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, QuantizedDenseTest, ::testing::Bool());

TEST(QuantizedMaxPoolTest, TakesTheLargestByteOfEachWindow) {
  const int64_t n = 2, c = 20, h = 6, w = 7;
  Tensor x = RandomU8({n, c, h, w}, 7);
  GraphBuilder b;
  Output xp = b.Placeholder("x", {kUnknownDim, c, h, w}, DType::kU8);
  Output y = QuantizedMaxPool2D(xp, {2, 2}, {2, 2}, "pool");
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOnce(b, {{xp, x}}, {y}));
  ASSERT_EQ(out[0].shape(), Shape({n, c, 3, 3}));
  std::vector<double> expected;
  for (int64_t i = 0; i < n * c; ++i)
    for (int64_t y0 = 0; y0 < 3; ++y0)
      for (int64_t x0 = 0; x0 < 3; ++x0) {
        int best = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx)
            best = std::max<int>(best, x.data<uint8_t>()[(i * h + 2 * y0 + dy) * w + 2 * x0 + dx]);
        expected.push_back(best);
      }
  EXPECT_EQ(testing::ToDoubles(out[0]), expected);
}

TEST(QuantizeTest, RoundsSaturatesAndDequantizes) {
  NABLA_ASSERT_OK_AND_ASSIGN(
      Tensor x, Tensor::FromVector<float>({2, 3}, {0.0f, 0.26f, 1.04f, -0.5f, 60.0f, 2.49f}));
  GraphBuilder b;
  Output xp = b.Placeholder("x", {2, 3});
  Output q = Quantize(xp, 0.1f);
  Output d = Dequantize(q, 0.1f);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out, RunOnce(b, {{xp, x}}, {q, d}));
  ASSERT_EQ(out[0].dtype(), DType::kU8);
  EXPECT_EQ(testing::ToDoubles(out[0]), (std::vector<double>{0, 3, 10, 0, 255, 25}));
  testing::ExpectTensorNear(out[1], Shape({2, 3}), {0, 0.3, 1.0, 0, 25.5, 2.5}, 1e-6);
}

TEST(QuantizedOpsTest, InferShapesAndDtypes) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 10, 9}, DType::kU8);
  Output f = b.Variable("f", {4, 3, 3, 3}, Initializer::Zeros());
  Output fb = b.Variable("fb", {4}, Initializer::Zeros());
  QuantizedOptions o;
  o.strides = {2, 2};
  Output valid = QuantizedConv2D(x, f, fb, o, "valid");
  EXPECT_EQ(valid.dtype(), DType::kU8);
  EXPECT_EQ(valid.shape(), Shape({kUnknownDim, 4, 4, 4}));
  o.padding = "same";
  o.output_type = DType::kF32;
  Output same = QuantizedConv2D(x, f, fb, o, "same");
  EXPECT_EQ(same.dtype(), DType::kF32);
  EXPECT_EQ(same.shape(), Shape({kUnknownDim, 4, 5, 5}));
  Output pool = QuantizedMaxPool2D(valid, {2, 2}, {1, 1}, "pool");
  EXPECT_EQ(pool.dtype(), DType::kU8);
  EXPECT_EQ(pool.shape(), Shape({kUnknownDim, 4, 3, 3}));
  Output w = b.Variable("w", {36, 7}, Initializer::Zeros());
  Output wb = b.Variable("wb", {7}, Initializer::Zeros());
  Output dense = QuantizedDense(pool, w, wb, o, "dense");  // [?, 4, 3, 3] read flat
  EXPECT_EQ(dense.dtype(), DType::kF32);
  EXPECT_EQ(dense.shape(), Shape({kUnknownDim, 7}));
  EXPECT_EQ(Quantize(same, 0.5f).dtype(), DType::kU8);
  EXPECT_EQ(Dequantize(pool, 0.5f).shape(), Shape({kUnknownDim, 4, 3, 3}));
  ASSERT_TRUE(b.ok()) << b.status();

  // Shapes that do not fit are errors that say why.
  QuantizedDense(valid, w, wb, o, "bad_dense");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("has 64 features but w expects 36")));
  GraphBuilder b2;
  Output x2 = b2.Placeholder("x", {kUnknownDim, 2, 10, 9}, DType::kU8);
  Output f2 = b2.Variable("f", {4, 3, 3, 3}, Initializer::Zeros());
  Output fb2 = b2.Variable("fb", {4}, Initializer::Zeros());
  QuantizedConv2D(x2, f2, fb2, QuantizedOptions(), "conv");
  EXPECT_THAT(b2.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("x has 2 channels but the filters expect 3")));
  GraphBuilder b3;
  Output x3 = b3.Placeholder("x", {kUnknownDim, 2, 3, 3}, DType::kU8);
  QuantizedMaxPool2D(x3, {4, 4}, {1, 1}, "pool");
  EXPECT_THAT(b3.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("larger than the input")));
  GraphBuilder b4;
  Output x4 = b4.Placeholder("x", {kUnknownDim, 4});  // f32, not u8
  Output w4 = b4.Variable("w", {4, 2}, Initializer::Zeros());
  Output bias4 = b4.Variable("b", {2}, Initializer::Zeros());
  QuantizedDense(x4, w4, bias4, QuantizedOptions(), "dense");
  EXPECT_FALSE(b4.ok());
}

TEST(QuantizedOpsTest, RejectWeightsThatAreNoVariableAndBadAttributes) {
  GraphBuilder b;
  Output xp = b.Placeholder("x", {kUnknownDim, 4}, DType::kU8);
  Output w = b.Constant(Tensor::Filled<float>(Shape({4, 2}), 0.5f), "w");
  Output bias = b.Variable("b", {2}, Initializer::Zeros());
  QuantizedDense(xp, w, bias, QuantizedOptions(), "dense");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("must be a Variable, got Const node 'w'")));

  GraphBuilder b2;
  Output x2 = b2.Placeholder("x", {kUnknownDim, 4}, DType::kU8);
  Output w2 = b2.Variable("w", {4, 2}, Initializer::Zeros());
  Output bias2 = b2.Variable("b", {2}, Initializer::Zeros());
  QuantizedOptions bad;
  bad.output_type = DType::kI32;
  QuantizedDense(x2, w2, bias2, bad, "dense");
  EXPECT_THAT(b2.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("output_type must be u8 or f32, got i32")));
  GraphBuilder b3;
  Output x3 = b3.Placeholder("x", {kUnknownDim, 4}, DType::kU8);
  Quantize(Cast(x3), 0.0f, "q");
  EXPECT_THAT(b3.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                    HasSubstr("scale must be positive")));
}

}  // namespace
}  // namespace nabla
