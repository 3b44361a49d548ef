// Dense chooses, per shape when its plan compiles, between oneDNN's matmul
// and its inner product (ops/dense.cc, ChooseDenseKernel); both must give
// the layer's values. NABLA_DENSE_KERNEL forces either, and the default
// times them (in inference plans; training plans take matmul): each way,
// the result is checked against the plain sum in
// double precision, at the batch sizes where the choice is timed (1, 4, 64)
// and beyond it (65), with and without ReLU.

#include <cstdlib>
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/session.h"
#include "ops/dense.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::ToDoubles;

std::vector<double> ReferenceDense(const Tensor& x, const Tensor& w,
                                   const Tensor& bias, bool relu) {
  const std::vector<double> xv = ToDoubles(x), wv = ToDoubles(w),
                            bv = ToDoubles(bias);
  const int64_t m = x.shape()[0], k = x.shape()[1], n = w.shape()[1];
  std::vector<double> y(m * n);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = bv[j];
      for (int64_t l = 0; l < k; ++l) sum += xv[i * k + l] * wv[l * n + j];
      y[i * n + j] = relu ? std::max(sum, 0.0) : sum;
    }
  }
  return y;
}

class DenseKernelChoiceTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (GetParam()[0] == '\0') {
      unsetenv("NABLA_DENSE_KERNEL");
    } else {
      setenv("NABLA_DENSE_KERNEL", GetParam(), 1);
    }
  }
  void TearDown() override { unsetenv("NABLA_DENSE_KERNEL"); }
};

TEST_P(DenseKernelChoiceTest, ComputesTheLayer) {
  // dense1's shape in the lecture's model, and a small odd one.
  for (auto [k, n] : {std::pair<int64_t, int64_t>{1024, 1000}, {37, 11}}) {
    for (bool relu : {false, true}) {
      GraphBuilder b;
      Output x = b.Placeholder("x", {kUnknownDim, k});
      Output w = b.Variable("w", {k, n}, Initializer::GlorotUniform(5));
      Output bias = b.Variable("bias", {n}, Initializer::GlorotUniform(6));
      Output y = Dense(x, w, bias, relu ? Activation::kRelu : Activation::kLinear);
      NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
      NABLA_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Session> session,
                                 Session::Create(std::move(graph)));
      for (int64_t m : {1, 4, 64, 65}) {
        SCOPED_TRACE(absl::StrCat("k=", k, " n=", n, " m=", m, " relu=", relu));
        NABLA_ASSERT_OK_AND_ASSIGN(
            Plan* plan, session->Compile({{x, Shape({m, k})}}, {y}, {},
                                         CompileOptions{RunMode::kInference}));
        const Tensor input = RandomTensor(Shape({m, k}), 7 + m);
        std::vector<Tensor> out;
        for (int run = 0; run < 2; ++run) {
          NABLA_ASSERT_OK(plan->Run({input}, &out));
          ExpectTensorNear(out[0], Shape({m, n}),
                           ReferenceDense(input, *session->variables().Find("w"),
                                          *session->variables().Find("bias"),
                                          relu),
                           1e-4, 1e-4);
        }
      }
    }
  }
}

// The timed choice is made once per shape and process: two sessions'
// inference plans give the same bits.
TEST_P(DenseKernelChoiceTest, TwoSessionsAgreeBitForBit) {
  std::vector<Tensor> results;
  const Tensor input = RandomTensor(Shape({1, 1024}), 21);
  for (int i = 0; i < 2; ++i) {
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, 1024});
    Output w = b.Variable("w", {1024, 1000}, Initializer::GlorotUniform(5));
    Output bias = b.Variable("bias", {1000}, Initializer::GlorotUniform(6));
    Output y = Dense(x, w, bias, Activation::kRelu);
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    NABLA_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Session> session,
                               Session::Create(std::move(graph)));
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan* plan, session->Compile({{x, Shape({1, 1024})}}, {y}, {},
                                     CompileOptions{RunMode::kInference}));
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({input}, &out));
    results.push_back(out[0]);
  }
  EXPECT_TRUE(results[0].BitwiseEquals(results[1]));
}

INSTANTIATE_TEST_SUITE_P(Kernels, DenseKernelChoiceTest,
                         ::testing::Values("", "matmul", "inner_product"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param[0] ? info.param
                                                            : "timed");
                         });

}  // namespace
}  // namespace nabla
