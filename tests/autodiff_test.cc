// Reverse-mode autodiff: fan-out sums, values with no path, ops with no
// rule, and training graphs that serialize and load with their gradients.

#include "graph/autodiff.h"

#include "graph/graph_def.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

TEST(AutodiffTest, SumsGradientsOfFanOut) {
  // loss = sum(x * x + x) => d/dx = 2x + 1.
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output loss = Sum(Add(Mul(x, x), x));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, testing::RunOnce(b, {{x, *Tensor::FromVector<float>({3}, {1, -2, 0.5})}},
                                 {grads[0]}));
  ExpectTensorNear(out[0], {3}, {3, -3, 2});
}

TEST(AutodiffTest, ValuesWithNoPathGetZeros) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {2});
  Output unrelated = b.Variable("unrelated", {4}, Initializer::Constant(1));
  Output loss = Sum(Relu(x));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {unrelated}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, testing::RunOnce(b, {{x, Tensor(DType::kF32, {2})}}, {grads[0]}));
  ExpectTensorNear(out[0], {4}, {0, 0, 0, 0});
}

TEST(AutodiffTest, GradientThroughChainMatchesFiniteDifferences) {
  CheckGradients(
      [](GraphBuilder& b, const std::vector<Output>& in) {
        Output h = Tanh(Dense(in[0], in[1], in[2]));
        return Mean(Mul(Sigmoid(MatMul(h, in[3])), h), {1});
      },
      {RandomTensor({4, 5}, 1), RandomTensor({5, 3}, 2), RandomTensor({3}, 3),
       RandomTensor({3, 3}, 4)},
      {0, 1, 2, 3});
}

TEST(AutodiffTest, BroadcastOperandsGetReducedGradients) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Sub(Mul(in[0], in[1]), in[2]);
      },
      {RandomTensor({2, 3, 4}, 5), RandomTensor({3, 1}, 6), RandomTensor({4}, 7)},
      {0, 1, 2});
}

TEST(AutodiffTest, ReductionsOverAxes) {
  CheckGradients(
      [](GraphBuilder&, const std::vector<Output>& in) {
        return Add(Mean(in[0], {0, 2}, true), Sum(in[0], {1}, true));
      },
      {RandomTensor({2, 3, 4}, 8)}, {0});
}

TEST(AutodiffTest, InitialGradientsGiveTheBackwardPassAlone) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output y = Tanh(x, "y");
  Output dy = b.Placeholder("dy", {3});
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients({y}, {dy}, {x}));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*b.Build()));
  // Feeding y prunes the forward Tanh: only TanhGrad runs.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan, session->Compile({{y, Shape({3})}, {dy, Shape({3})}}, {grads[0]}));
  EXPECT_EQ(plan->stats().num_steps, 1);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({*Tensor::FromVector<float>({3}, {0, 0.5, -0.5}),
                             *Tensor::FromVector<float>({3}, {1, 2, 3})},
                            &out));
  ExpectTensorNear(out[0], {3}, {1, 2 * 0.75, 3 * 0.75}, 1e-6, 1e-6);
  Output wrong = b.Placeholder("wrong", {4});
  EXPECT_THAT(Gradients({y}, {wrong}, {x}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("initial gradient 'wrong' is f32[4] but 'y' is f32[3]")));
}

TEST(AutodiffTest, LossMustBeScalar) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output y = Relu(x, "not_a_scalar");
  EXPECT_THAT(Gradients(y, {x}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the loss 'not_a_scalar' must be an f32 "
                                 "scalar, not f32[3]")));
}

TEST(AutodiffTest, GradientOpsHaveNoSecondDerivative) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output y = Relu(x);
  Output dx = ReluGrad(x, y, "relu_grad");
  EXPECT_THAT(Gradients(Sum(dx), {x}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("ReluGrad node 'relu_grad'")));
}

TEST(AutodiffTest, OpWithoutRuleIsNamed) {
  // An op registered without any gradient rule or mark.
  static OpRegistrar registrar(
      OpSchema("TestNoGradient").Input("x").Output("y").SetShapeFn(SameAsInput(0))
          .SetKernel(FunctionKernel([](const KernelArgs& args) {
            return args.output(0).CopyFrom(args.input(0));
          })));
  GraphBuilder b;
  Output x = b.Placeholder("x", {3});
  Output y = b.AddOp1("TestNoGradient", {x}, {}, "opaque");
  EXPECT_THAT(Gradients(Sum(y), {x}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("TestNoGradient node 'opaque' lies between "
                                 "the loss and a value to differentiate")));
}

TEST(AutodiffTest, LoadedTrainingGraphGivesSameGradients) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output w = b.Variable("w", {4, 2}, Initializer::GlorotUniform(1));
  Output bias = b.Variable("bias", {2}, Initializer::Constant(0.1f));
  Output loss = Mean(Sigmoid(Dense(x, w, bias, Activation::kRelu)), {}, false, "loss");
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {w, bias}));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph built, b.Build());
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/train.pbtxt";
  NABLA_ASSERT_OK(SaveGraph(built, path));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, LoadGraph(path));

  Tensor input = RandomTensor({8, 4}, 12);
  std::vector<std::vector<Tensor>> results;
  for (const Graph* g : {&built, &loaded}) {
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*g));
    NABLA_ASSERT_OK_AND_ASSIGN(auto out,
                               session->Run({{x, input}}, {grads[0], grads[1]}));
    results.push_back(out);
  }
  EXPECT_TRUE(results[0][0].BitwiseEquals(results[1][0]));
  EXPECT_TRUE(results[0][1].BitwiseEquals(results[1][1]));
  // Not all zero: the gradient really flows.
  double total = 0;
  for (float v : results[0][0].flat<float>()) total += std::abs(v);
  EXPECT_GT(total, 0);
}

TEST(AutodiffTest, GradientsCanBeAddedToALoadedGraph) {
  GraphBuilder original;
  Output x = original.Placeholder("x", {3});
  Sum(Tanh(x), {}, false, "loss");
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, original.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, FromGraphDef(ToGraphDef(g)));
  GraphBuilder b(std::move(loaded));
  NABLA_ASSERT_OK_AND_ASSIGN(Output loss, b.Find("loss"));
  NABLA_ASSERT_OK_AND_ASSIGN(Output input, b.Find("x"));
  NABLA_ASSERT_OK_AND_ASSIGN(auto grads, Gradients(loss, {input}));
  NABLA_ASSERT_OK_AND_ASSIGN(
      auto out, testing::RunOnce(b, {{input, *Tensor::FromVector<float>({3}, {0, 1, -1})}},
                                 {grads[0]}));
  double t = std::tanh(1.0);
  ExpectTensorNear(out[0], {3}, {1, 1 - t * t, 1 - t * t}, 1e-6, 1e-5);
}

}  // namespace
}  // namespace nabla
