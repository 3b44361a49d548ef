// Dense (matmul + bias + fused ReLU) and MatMul with transposes.

#include "ops/dense.h"

#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnce;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

TEST(DenseShapeTest, Cases) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 1024});
  Output w = b.Placeholder("w", {1024, 1000});
  Output bias = b.Placeholder("b", {1000});
  EXPECT_EQ(Dense(x, w, bias).shape(), Shape({kUnknownDim, 1000}));
  Output a = b.Placeholder("a", {7, 3});
  Output c = b.Placeholder("c", {5, 3});
  EXPECT_EQ(MatMul(a, c, false, true).shape(), Shape({7, 5}));
  Output d = b.Placeholder("d", {7, 2});
  EXPECT_EQ(MatMul(a, d, true, false).shape(), Shape({3, 2}));
  ASSERT_TRUE(b.ok()) << b.status();
}

TEST(DenseShapeTest, Errors) {
  struct Case {
    Shape x, w, bias;
    const char* message;
  };
  const Case cases[] = {
      // Keras's Dense on an unflattened image: over the last axis only.
      {{kUnknownDim, 1, 28, 28}, {784, 10}, {10}, "x has 28 features but w expects 784"},
      {{784}, {784, 10}, {10}, "x must be of rank 2 or more, got [784]"},
      {{4, 8}, {9, 10}, {10}, "x has 8 features but w expects 9"},
      {{4, 8}, {8, 10}, {11}, "bias must be [10], got [11]"},
      {{4, 8}, {8, 10, 1}, {10}, "w must be rank 2"},
  };
  for (const Case& c : cases) {
    GraphBuilder b;
    Dense(b.Placeholder("x", c.x), b.Placeholder("w", c.w),
          b.Placeholder("b", c.bias), Activation::kLinear, "fc");
    EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                     HasSubstr(c.message)));
    EXPECT_THAT(b.status().message(), HasSubstr("Dense node 'fc'"));
  }
  GraphBuilder b;
  b.AddOp1("Dense",
           {b.Placeholder("x", {2, 2}), b.Placeholder("w", {2, 2}),
            b.Placeholder("b", {2})},
           {{"activation", StringAttr("swish")}}, "fc");
  EXPECT_THAT(b.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("activation must be")));
}

TEST(DenseForwardTest, MatchesReference) {
  const int n = 5, k = 7, m = 3;
  Tensor x = RandomTensor({n, k}, 1), w = RandomTensor({k, m}, 2),
         bias = RandomTensor({m}, 3);
  for (Activation activation : {Activation::kLinear, Activation::kRelu}) {
    GraphBuilder b;
    Output px = b.Placeholder("x", x.shape()), pw = b.Placeholder("w", w.shape()),
           pb = b.Placeholder("b", bias.shape());
    NABLA_ASSERT_OK_AND_ASSIGN(
        auto out, RunOnce(b, {{px, x}, {pw, w}, {pb, bias}},
                          {Dense(px, pw, pb, activation)}));
    std::vector<double> expected;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < m; ++j) {
        double acc = bias.data<float>()[j];
        for (int p = 0; p < k; ++p) {
          acc += double{x.data<float>()[i * k + p]} * w.data<float>()[p * m + j];
        }
        if (activation == Activation::kRelu) acc = std::max(acc, 0.0);
        expected.push_back(acc);
      }
    }
    ExpectTensorNear(out[0], {n, m}, expected, 1e-5, 1e-5);
  }
}

TEST(DenseForwardTest, MatMulTransposesMatchReference) {
  Tensor a = RandomTensor({4, 3}, 4), c = RandomTensor({4, 3}, 5);
  GraphBuilder b;
  Output pa = b.Placeholder("a", a.shape()), pc = b.Placeholder("c", c.shape());
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, RunOnce(b, {{pa, a}, {pc, c}},
                        {MatMul(pa, pc, true, false), MatMul(pa, pc, false, true)}));
  std::vector<double> ata, abt;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double acc = 0;
      for (int p = 0; p < 4; ++p) acc += double{a.data<float>()[p * 3 + i]} * c.data<float>()[p * 3 + j];
      ata.push_back(acc);
    }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int p = 0; p < 3; ++p) acc += double{a.data<float>()[i * 3 + p]} * c.data<float>()[j * 3 + p];
      abt.push_back(acc);
    }
  ExpectTensorNear(out[0], {3, 3}, ata, 1e-5, 1e-5);
  ExpectTensorNear(out[1], {4, 4}, abt, 1e-5, 1e-5);
}

TEST(DenseGradientTest, AllInputsBothActivations) {
  // Biases of ±0.5 and small inputs keep pre-activations away from the
  // ReLU kink by more than the finite-difference step in most places; the
  // check weights ensure any miss shows up.
  Tensor x = RandomTensor({4, 6}, 6), w = RandomTensor({6, 5}, 7);
  Tensor bias = *Tensor::FromVector<float>({5}, {0.5f, -0.5f, 0.6f, -0.6f, 0.7f});
  for (Activation activation : {Activation::kLinear, Activation::kRelu}) {
    CheckGradients(
        [activation](GraphBuilder&, const std::vector<Output>& in) {
          return Dense(in[0], in[1], in[2], activation);
        },
        {x, w, bias}, {0, 1, 2});
  }
}

TEST(DenseGradientTest, MatMulAllTransposes) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      Tensor a = RandomTensor(ta ? Shape({3, 4}) : Shape({4, 3}), 8);
      Tensor c = RandomTensor(tb ? Shape({2, 3}) : Shape({3, 2}), 9);
      CheckGradients(
          [ta, tb](GraphBuilder&, const std::vector<Output>& in) {
            return MatMul(in[0], in[1], ta, tb);
          },
          {a, c}, {0, 1});
    }
  }
}

}  // namespace
}  // namespace nabla
