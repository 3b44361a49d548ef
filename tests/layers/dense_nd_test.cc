// Dense on inputs of rank above 2, over the last axis as Keras does:
// [N, T, K] x [K, M] -> [N, T, M].

#include <algorithm>

#include "graph/builder.h"
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

TEST(DenseNdShapeTest, LastAxis) {
  GraphBuilder b;
  Output w = b.Placeholder("w", {16, 8});
  Output bias = b.Placeholder("b", {8});
  EXPECT_EQ(Dense(b.Placeholder("x3", {kUnknownDim, 10, 16}), w, bias).shape(),
            Shape({kUnknownDim, 10, 8}));
  EXPECT_EQ(
      Dense(b.Placeholder("x4", {2, kUnknownDim, 3, 16}), w, bias).shape(),
      Shape({2, kUnknownDim, 3, 8}));
  ASSERT_TRUE(b.ok()) << b.status();
}

TEST(DenseNdShapeTest, Errors) {
  GraphBuilder b;
  Dense(b.Placeholder("x", {2, 10, 15}), b.Placeholder("w", {16, 8}),
        b.Placeholder("b", {8}), Activation::kLinear, "fc");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Dense node 'fc' (inputs f32[2,10,15], "
                                 "f32[16,8], f32[8]): x has 15 features but "
                                 "w expects 16")));
}

// y[r, j] = act(bias[j] + sum_p x[r, p] w[p, j]) over the rows r of x.
std::vector<double> Reference(const Tensor& x, const Tensor& w,
                              const Tensor& bias, bool relu) {
  const int64_t k = w.shape()[0], m = w.shape()[1];
  const int64_t rows = x.shape().NumElements() / k;
  std::vector<double> y;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < m; ++j) {
      double acc = bias.data<float>()[j];
      for (int64_t p = 0; p < k; ++p) {
        acc += double{x.data<float>()[r * k + p]} * w.data<float>()[p * m + j];
      }
      y.push_back(relu ? std::max(acc, 0.0) : acc);
    }
  }
  return y;
}

TEST(DenseNdForwardTest, MatchesReference) {
  for (const Shape& xs : {Shape({3, 4, 7}), Shape({2, 3, 2, 7})}) {
    Tensor x = RandomTensor(xs, 1), w = RandomTensor({7, 5}, 2),
           bias = RandomTensor({5}, 3);
    for (Activation activation : {Activation::kLinear, Activation::kRelu}) {
      GraphBuilder b;
      // The batch unknown when built, known when run.
      Shape built = xs.WithDim(0, kUnknownDim);
      Output px = b.Placeholder("x", built), pw = b.Placeholder("w", w.shape()),
             pb = b.Placeholder("b", bias.shape());
      Output y = Dense(px, pw, pb, activation);
      NABLA_ASSERT_OK_AND_ASSIGN(
          auto out, RunOnce(b, {{px, x}, {pw, w}, {pb, bias}}, {y}));
      ExpectTensorNear(out[0], xs.WithDim(xs.rank() - 1, 5),
                       Reference(x, w, bias, activation == Activation::kRelu),
                       1e-5, 1e-5);
    }
  }
}

TEST(DenseNdGradientTest, AllInputsBothActivations) {
  // |x · w| <= 4 * 0.1 stays clear of the biases' ±0.5, so no
  // pre-activation sits at the ReLU's kink within the finite-difference step.
  Tensor x = RandomTensor({2, 3, 4}, 6, -0.1f, 0.1f),
         w = RandomTensor({4, 5}, 7);
  Tensor bias =
      *Tensor::FromVector<float>({5}, {0.5f, -0.5f, 0.6f, -0.6f, 0.7f});
  for (Activation activation : {Activation::kLinear, Activation::kRelu}) {
    CheckGradients(
        [activation](GraphBuilder&, const std::vector<Output>& in) {
          return Dense(in[0], in[1], in[2], activation);
        },
        {x, w, bias}, {0, 1, 2});
  }
  Tensor x4 = RandomTensor({2, 2, 3, 4}, 8);
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Dense(in[0], in[1], in[2]);
      },
      {x4, w, bias}, {0, 1, 2});
}

// The products Dense's rank>2 gradient adds are differentiable themselves
// (each other's gradient), so a second derivative works.
TEST(DenseNdGradientTest, GradientOpsDifferentiate) {
  Tensor a = RandomTensor({2, 3, 4}, 9), b4x5 = RandomTensor({4, 5}, 10),
         b5x4 = RandomTensor({5, 4}, 11), c = RandomTensor({2, 3, 5}, 12);
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return MakeOp("RowsProduct", {in[0], in[1]},
                      {{"transpose_b", BoolAttr(false)}});
      },
      {a, b4x5}, {0, 1});
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return MakeOp("RowsProduct", {in[0], in[1]},
                      {{"transpose_b", BoolAttr(true)}});
      },
      {a, b5x4}, {0, 1});
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return MakeOp("RowsOuter", {in[0], in[1]}, {});
      },
      {a, c}, {0, 1});
}

}  // namespace
}  // namespace nabla
