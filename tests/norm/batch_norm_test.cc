// BatchNorm and BatchNormGrad (ops/normalization.h): shape inference, the
// forward pass in both modes against a double-precision loop, the running
// statistics after one and two training steps, finite-difference
// gradients, PyTorch 1.13 goldens (tests/norm/make_goldens.py), which mode
// Session::Compile picks, and conv > BN > ReLU in the convolution's layout.

#include "ops/normalization.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "ops/activations.h"
#include "ops/arith.h"
#include "ops/conv.h"
#include "ops/pool.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckGradients;
using ::nabla::testing::ExpectTensorNear;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::StatusIs;
using ::nabla::testing::ToDoubles;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Output `index` of the node that made `y`.
Output OutputOf(Output y, int index) {
  return Output(y.builder(), NodeOutput{y.ref().node, index});
}

Output ValueVariable(GraphBuilder& b, absl::string_view name,
                     const Tensor& value) {
  return b.Variable(name, value.shape(), Initializer::Value(value));
}

// ---------------------------------------------------------------------------
// The reference: batch normalization in double precision, a plain loop.

struct Reference {
  std::vector<double> y, mean, variance;  // variance biased
  std::vector<double> running_mean, running_variance;  // after the update
};

// x is [N, C] or [N, C, H, W], row-major.
Reference ReferenceBatchNorm(const Shape& shape, const std::vector<double>& x,
                             const std::vector<double>& gamma,
                             const std::vector<double>& beta,
                             const std::vector<double>& running_mean,
                             const std::vector<double>& running_variance,
                             bool training, double epsilon, double momentum,
                             bool relu) {
  const int64_t n = shape[0], c = shape[1];
  const int64_t inner = shape.rank() == 4 ? shape[2] * shape[3] : 1;
  const double m = static_cast<double>(n * inner);
  Reference r;
  r.mean.assign(c, 0);
  r.variance.assign(c, 0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t j = 0; j < inner; ++j) {
        r.mean[k] += x[(i * c + k) * inner + j];
      }
    }
  }
  for (double& v : r.mean) v /= m;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t j = 0; j < inner; ++j) {
        double d = x[(i * c + k) * inner + j] - r.mean[k];
        r.variance[k] += d * d;
      }
    }
  }
  for (double& v : r.variance) v /= m;
  const std::vector<double>& mean = training ? r.mean : running_mean;
  const std::vector<double>& var = training ? r.variance : running_variance;
  r.y.resize(x.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t j = 0; j < inner; ++j) {
        int64_t at = (i * c + k) * inner + j;
        double y = gamma[k] * (x[at] - mean[k]) / std::sqrt(var[k] + epsilon) +
                   beta[k];
        r.y[at] = relu ? std::max(0.0, y) : y;
      }
    }
  }
  r.running_mean = running_mean;
  r.running_variance = running_variance;
  if (training) {
    for (int64_t k = 0; k < c; ++k) {
      r.running_mean[k] =
          momentum * running_mean[k] + (1 - momentum) * r.mean[k];
      r.running_variance[k] = momentum * running_variance[k] +
                              (1 - momentum) * r.variance[k] * m / (m - 1);
    }
  }
  return r;
}

// ---------------------------------------------------------------------------
// Shape inference.

struct Parameters {
  Output gamma, beta, mean, variance;
};

Parameters MakeParameters(GraphBuilder& b, int64_t channels,
                          absl::string_view prefix = "bn") {
  const Shape c({channels});
  return {b.Variable(absl::StrCat(prefix, "/gamma"), c,
                     Initializer::Constant(1.f)),
          b.Variable(absl::StrCat(prefix, "/beta"), c, Initializer::Zeros()),
          b.Variable(absl::StrCat(prefix, "/moving_mean"), c,
                     Initializer::Zeros()),
          b.Variable(absl::StrCat(prefix, "/moving_variance"), c,
                     Initializer::Constant(1.f))};
}

TEST(BatchNormShapeTest, NchwAndFeatures) {
  for (const Shape& x_shape :
       {Shape({kUnknownDim, 4, 5, 6}), Shape({kUnknownDim, 7}),
        Shape({3, 2, 1, 1})}) {
    for (Activation activation : {Activation::kLinear, Activation::kRelu}) {
      SCOPED_TRACE(x_shape.ToString());
      GraphBuilder b;
      Parameters p = MakeParameters(b, x_shape[1]);
      BatchNormOptions options;
      options.activation = activation;
      Output y = BatchNorm(b.Placeholder("x", x_shape), p.gamma, p.beta,
                           p.mean, p.variance, options, "bn");
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(y.spec(), (TensorSpec{DType::kF32, x_shape}));
      EXPECT_EQ(OutputOf(y, 1).spec(),
                (TensorSpec{DType::kF32, Shape({x_shape[1]})}));
      EXPECT_EQ(OutputOf(y, 2).spec(),
                (TensorSpec{DType::kF32, Shape({x_shape[1]})}));
      EXPECT_EQ(OutputOf(y, 3).spec(),
                (TensorSpec{DType::kU8, activation == Activation::kRelu
                                            ? x_shape
                                            : Shape({0})}));
    }
  }
}

TEST(BatchNormShapeTest, WithVariablesMakesKerasNamedVariables) {
  GraphBuilder b;
  BatchNormLayer layer =
      BatchNormWithVariables(b.Placeholder("x", {kUnknownDim, 3, 4, 4}), {},
                             "block1/bn");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(layer.y.shape(), Shape({kUnknownDim, 3, 4, 4}));
  EXPECT_EQ(layer.gamma.name(), "block1/bn/gamma");
  EXPECT_EQ(layer.beta.name(), "block1/bn/beta");
  EXPECT_EQ(layer.moving_mean.name(), "block1/bn/moving_mean");
  EXPECT_EQ(layer.moving_variance.name(), "block1/bn/moving_variance");
  ASSERT_EQ(layer.trainable().size(), 2u);
  EXPECT_EQ(layer.trainable()[0].name(), "block1/bn/gamma");
  EXPECT_EQ(layer.trainable()[1].name(), "block1/bn/beta");
  EXPECT_EQ(layer.gamma.shape(), Shape({3}));

  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  const VariableStore& v = session->variables();
  ExpectTensorNear(*v.Find("block1/bn/gamma"), Shape({3}), {1, 1, 1}, 0, 0);
  ExpectTensorNear(*v.Find("block1/bn/beta"), Shape({3}), {0, 0, 0}, 0, 0);
  ExpectTensorNear(*v.Find("block1/bn/moving_mean"), Shape({3}), {0, 0, 0}, 0,
                   0);
  ExpectTensorNear(*v.Find("block1/bn/moving_variance"), Shape({3}),
                   {1, 1, 1}, 0, 0);
}

TEST(BatchNormShapeTest, WithVariablesPicksANameAndNeedsKnownChannels) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 5});
  BatchNormLayer first = BatchNormWithVariables(x);
  BatchNormLayer second = BatchNormWithVariables(first.y);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(first.gamma.name(), "batch_norm/gamma");
  EXPECT_EQ(second.gamma.name(), "batch_norm_1/gamma");

  GraphBuilder unknown;
  BatchNormWithVariables(unknown.Placeholder("x", {2, kUnknownDim}));
  EXPECT_THAT(unknown.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'x'"), HasSubstr("channels"))));
}

struct ErrorCase {
  const char* name;
  Shape x;
  int64_t scale_size;
  float epsilon;
  float momentum;
  const char* message;
};

class BatchNormShapeErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(BatchNormShapeErrorTest, NamesOpNodeAndProblem) {
  const ErrorCase& c = GetParam();
  GraphBuilder b;
  Parameters p = MakeParameters(b, c.x.rank() >= 2 ? c.x[1] : 3);
  Output scale = b.Variable("odd_scale", Shape({c.scale_size}),
                            Initializer::Constant(1.f));
  BatchNormOptions options;
  options.epsilon = c.epsilon;
  options.momentum = c.momentum;
  BatchNorm(b.Placeholder("x", c.x), scale, p.beta, p.mean, p.variance, options,
            "my_bn");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("BatchNorm node 'my_bn'"),
                             HasSubstr(c.message))));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BatchNormShapeErrorTest,
    ::testing::Values(
        ErrorCase{"Rank3", {2, 3, 4}, 3, 1e-3f, 0.99f,
                  "x must be rank 2 [N, C] or rank 4 [N, C, H, W], got "
                  "[2,3,4]"},
        ErrorCase{"Rank1", {3}, 3, 1e-3f, 0.99f, "x must be rank 2"},
        ErrorCase{"ZeroChannels", {2, 0, 4, 4}, 0, 1e-3f, 0.99f,
                  "positive sizes"},
        ErrorCase{"WrongScaleSize", {2, 3, 4, 4}, 4, 1e-3f, 0.99f,
                  "scale must be [3] (one value per channel of [2,3,4,4]), "
                  "got [4]"},
        ErrorCase{"NegativeEpsilon", {2, 3}, 3, -1.f, 0.99f,
                  "epsilon must be positive"},
        ErrorCase{"MomentumAboveOne", {2, 3}, 3, 1e-3f, 1.5f,
                  "momentum must lie in [0, 1]"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return std::string(info.param.name);
    });

TEST(BatchNormShapeTest, WrongRunningStatisticSizeAndActivation) {
  GraphBuilder b;
  Parameters p = MakeParameters(b, 3);
  Output wrong = b.Variable("wrong", Shape({2}), Initializer::Zeros());
  BatchNorm(b.Placeholder("x", {2, 3}), p.gamma, p.beta, p.mean, wrong, {},
            "bn2");
  EXPECT_THAT(b.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("BatchNorm node 'bn2'"),
                             HasSubstr("running_variance must be [3]"))));

  GraphBuilder c;
  Parameters q = MakeParameters(c, 3);
  c.AddOp("BatchNorm",
          {c.Placeholder("x", {2, 3}), q.gamma, q.beta, q.mean, q.variance},
          {{"activation", StringAttr("sigmoid")}}, "bn3");
  EXPECT_THAT(c.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("BatchNorm node 'bn3'"),
                             HasSubstr("activation must be \"linear\" or "
                                       "\"relu\", got \"sigmoid\""))));
}

// ---------------------------------------------------------------------------
// Forward passes and running statistics against the reference.

struct Problem {
  Shape shape;
  Tensor x, gamma, beta, running_mean, running_variance;
};

Problem MakeProblem(const Shape& shape, uint64_t seed) {
  const Shape c({shape[1]});
  return {shape,
          RandomTensor(shape, seed, -2, 3),
          RandomTensor(c, seed + 1, 0.5f, 1.5f),
          RandomTensor(c, seed + 2, -0.5f, 0.5f),
          RandomTensor(c, seed + 3, -0.5f, 0.5f),
          RandomTensor(c, seed + 4, 0.5f, 2.f)};
}

// A session over BatchNorm of the problem's parameters, x fed.
struct Model {
  std::unique_ptr<Session> session;
  Output x, y;
};

Model BuildModel(const Problem& p, const BatchNormOptions& options) {
  GraphBuilder b;
  Output x = b.Placeholder("x", p.shape.WithDim(0, kUnknownDim));
  Output y = BatchNorm(x, ValueVariable(b, "gamma", p.gamma),
                       ValueVariable(b, "beta", p.beta),
                       ValueVariable(b, "running_mean", p.running_mean),
                       ValueVariable(b, "running_variance", p.running_variance),
                       options, "bn");
  Model m;
  m.x = x;
  m.y = y;
  absl::StatusOr<Graph> graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  if (!graph.ok()) return m;
  auto session = Session::Create(*std::move(graph));
  EXPECT_TRUE(session.ok()) << session.status();
  if (session.ok()) m.session = *std::move(session);
  return m;
}

struct ForwardCase {
  const char* name;
  Shape shape;
  bool training;
  bool relu;
};

class BatchNormForwardTest : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(BatchNormForwardTest, MatchesDoubleLoop) {
  const ForwardCase& fc = GetParam();
  Problem p = MakeProblem(fc.shape, 100);
  BatchNormOptions options;
  options.momentum = 0.8f;
  options.epsilon = 1e-2f;
  options.activation = fc.relu ? Activation::kRelu : Activation::kLinear;
  Model m = BuildModel(p, options);
  ASSERT_NE(m.session, nullptr);
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan,
      m.session->Compile(
          {FeedSpec{m.x, fc.shape}}, {m.y, OutputOf(m.y, 1), OutputOf(m.y, 2)},
          {},
          CompileOptions{fc.training ? RunMode::kTraining
                                     : RunMode::kInference}));
  EXPECT_EQ(plan->stats().training, fc.training);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({p.x}, &out));

  Reference r = ReferenceBatchNorm(
      fc.shape, ToDoubles(p.x), ToDoubles(p.gamma), ToDoubles(p.beta),
      ToDoubles(p.running_mean), ToDoubles(p.running_variance), fc.training,
      options.epsilon, options.momentum, fc.relu);
  const Shape c({fc.shape[1]});
  ExpectTensorNear(out[0], fc.shape, r.y, 1e-5, 1e-5);
  // Training outputs the batch statistics; inference the running ones.
  ExpectTensorNear(out[1], c,
                   fc.training ? r.mean : ToDoubles(p.running_mean), 1e-6,
                   1e-5);
  ExpectTensorNear(out[2], c,
                   fc.training ? r.variance : ToDoubles(p.running_variance),
                   1e-6, 1e-5);
  // Only training changes the running statistics.
  const VariableStore& v = m.session->variables();
  ExpectTensorNear(*v.Find("running_mean"), c, r.running_mean, 1e-6, 1e-5);
  ExpectTensorNear(*v.Find("running_variance"), c, r.running_variance, 1e-6,
                   1e-5);
  if (!fc.training) {
    EXPECT_EQ(ToDoubles(*v.Find("running_mean")), ToDoubles(p.running_mean));
    EXPECT_EQ(ToDoubles(*v.Find("running_variance")),
              ToDoubles(p.running_variance));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BatchNormForwardTest,
    ::testing::Values(ForwardCase{"NchwTraining", {3, 5, 4, 6}, true, false},
                      ForwardCase{"NchwInference", {3, 5, 4, 6}, false, false},
                      ForwardCase{"NchwTrainingRelu", {2, 4, 3, 5}, true, true},
                      ForwardCase{"NchwInferenceRelu", {2, 4, 3, 5}, false,
                                  true},
                      ForwardCase{"FeaturesTraining", {9, 7}, true, false},
                      ForwardCase{"FeaturesInference", {9, 7}, false, false},
                      ForwardCase{"FeaturesTrainingRelu", {6, 3}, true, true},
                      ForwardCase{"SixteenChannels", {2, 16, 3, 3}, true,
                                  false}),
    [](const ::testing::TestParamInfo<ForwardCase>& info) {
      return std::string(info.param.name);
    });

TEST(BatchNormRunningStatsTest, OneAndTwoTrainingSteps) {
  const Shape shape({4, 3, 2, 5});
  Problem p = MakeProblem(shape, 200);
  BatchNormOptions options;  // momentum 0.99, as Keras
  options.momentum = 0.75f;
  Model m = BuildModel(p, options);
  ASSERT_NE(m.session, nullptr);
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * train,
      m.session->Compile({FeedSpec{m.x, shape}}, {m.y}, {},
                         CompileOptions{RunMode::kTraining}));
  Tensor x2 = RandomTensor(shape, 201, -1, 4);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(train->Run({p.x}, &out));
  Reference first = ReferenceBatchNorm(
      shape, ToDoubles(p.x), ToDoubles(p.gamma), ToDoubles(p.beta),
      ToDoubles(p.running_mean), ToDoubles(p.running_variance), true,
      options.epsilon, options.momentum, false);
  const VariableStore& v = m.session->variables();
  const Shape c({3});
  ExpectTensorNear(*v.Find("running_mean"), c, first.running_mean, 1e-6, 1e-5);
  ExpectTensorNear(*v.Find("running_variance"), c, first.running_variance,
                   1e-6, 1e-5);

  NABLA_ASSERT_OK(train->Run({x2}, &out));
  Reference second = ReferenceBatchNorm(
      shape, ToDoubles(x2), ToDoubles(p.gamma), ToDoubles(p.beta),
      first.running_mean, first.running_variance, true, options.epsilon,
      options.momentum, false);
  ExpectTensorNear(*v.Find("running_mean"), c, second.running_mean, 1e-6,
                   1e-5);
  ExpectTensorNear(*v.Find("running_variance"), c, second.running_variance,
                   1e-6, 1e-5);
  // By hand for channel 0 of the first step: momentum * old + (1 -
  // momentum) * batch, with the batch variance unbiased (m = 40).
  EXPECT_NEAR(first.running_variance[0],
              0.75 * p.running_variance.data<float>()[0] +
                  0.25 * first.variance[0] * 40.0 / 39.0,
              1e-12);

  // Inference then normalizes with the statistics the two steps left.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * infer,
      m.session->Compile({FeedSpec{m.x, shape}}, {m.y}, {},
                         CompileOptions{RunMode::kInference}));
  NABLA_ASSERT_OK(infer->Run({p.x}, &out));
  Reference inferred = ReferenceBatchNorm(
      shape, ToDoubles(p.x), ToDoubles(p.gamma), ToDoubles(p.beta),
      second.running_mean, second.running_variance, false, options.epsilon,
      options.momentum, false);
  ExpectTensorNear(out[0], shape, inferred.y, 1e-5, 1e-5);
  ExpectTensorNear(*v.Find("running_mean"), c, second.running_mean, 1e-6,
                   1e-5);
}

TEST(BatchNormRunningStatsTest, TrainingNeedsTwoValuesPerChannel) {
  Problem p = MakeProblem(Shape({1, 3}), 300);
  Model m = BuildModel(p, {});
  ASSERT_NE(m.session, nullptr);
  EXPECT_THAT(m.session->Compile({FeedSpec{m.x, Shape({1, 3})}}, {m.y}, {},
                                 CompileOptions{RunMode::kTraining}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("BatchNorm node 'bn'"),
                             HasSubstr("at least 2 values per channel"))));
  // Inference takes a single example.
  NABLA_EXPECT_OK(m.session->Compile({FeedSpec{m.x, Shape({1, 3})}}, {m.y}, {},
                                     CompileOptions{RunMode::kInference})
                      .status());
}

TEST(BatchNormRunningStatsTest, EmptyBatchInInference) {
  Problem p = MakeProblem(Shape({2, 3, 2, 2}), 310);
  Model m = BuildModel(p, {});
  ASSERT_NE(m.session, nullptr);
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * plan, m.session->Compile({FeedSpec{m.x, Shape({0, 3, 2, 2})}},
                                      {m.y, OutputOf(m.y, 1)}));
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(plan->Run({Tensor(DType::kF32, Shape({0, 3, 2, 2}))},
                            &out));
  EXPECT_EQ(out[0].shape(), Shape({0, 3, 2, 2}));
  EXPECT_EQ(ToDoubles(out[1]), ToDoubles(p.running_mean));
}

// The workspace of a fused ReLU is a plain value that can be fetched (the
// op benchmarks fetch it and feed it to the gradient).
TEST(BatchNormRunningStatsTest, FusedReluWorkspaceCanBeFetched) {
  for (const Shape& shape : {Shape({2, 16, 3, 3}), Shape({5, 3})}) {
    Problem p = MakeProblem(shape, 320);
    BatchNormOptions relu;
    relu.activation = Activation::kRelu;
    Model m = BuildModel(p, relu);
    ASSERT_NE(m.session, nullptr);
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan,
        m.session->Compile({FeedSpec{m.x, shape}}, {m.y, OutputOf(m.y, 3)}, {},
                           CompileOptions{RunMode::kTraining}));
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({p.x}, &out));
    EXPECT_EQ(out[1].dtype(), DType::kU8);
    EXPECT_EQ(out[1].shape(), shape);
  }
}

// ---------------------------------------------------------------------------
// Gradients: finite differences in training mode (CheckGradients compiles
// with the gradients, so kAuto trains).

Output BatchNormOfInputs(GraphBuilder& b, const std::vector<Output>& in,
                         const BatchNormOptions& options) {
  const Shape c({in[0].shape()[1]});
  Output mean = b.Variable("running_mean", c, Initializer::Zeros());
  Output variance =
      b.Variable("running_variance", c, Initializer::Constant(1.f));
  return BatchNorm(in[0], in[1], in[2], mean, variance, options, "bn");
}

TEST(BatchNormGradientTest, FiniteDifferencesNchw) {
  const Shape shape({2, 3, 3, 4});
  BatchNormOptions options;
  options.epsilon = 1e-2f;
  CheckGradients(
      [&](GraphBuilder& b, const std::vector<Output>& in) {
        return BatchNormOfInputs(b, in, options);
      },
      {RandomTensor(shape, 400, -2, 2),
       RandomTensor(Shape({3}), 401, 0.5f, 1.5f),
       RandomTensor(Shape({3}), 402, -0.5f, 0.5f)},
      {0, 1, 2});
}

TEST(BatchNormGradientTest, FiniteDifferencesFeatures) {
  const Shape shape({6, 4});
  BatchNormOptions options;
  options.epsilon = 1e-2f;
  CheckGradients(
      [&](GraphBuilder& b, const std::vector<Output>& in) {
        return BatchNormOfInputs(b, in, options);
      },
      {RandomTensor(shape, 410, -2, 2),
       RandomTensor(Shape({4}), 411, 0.5f, 1.5f),
       RandomTensor(Shape({4}), 412, -0.5f, 0.5f)},
      {0, 1, 2});
}

// Through a convolution, whose blocked output the kernels take as it is.
TEST(BatchNormGradientTest, FiniteDifferencesAfterConvolution) {
  BatchNormOptions options;
  options.epsilon = 1e-2f;
  Tensor w = RandomTensor(Shape({16, 2, 3, 3}), 421, -0.5f, 0.5f);
  CheckGradients(
      [&](GraphBuilder& b, const std::vector<Output>& in) {
        Output h = Conv2D(in[0], b.Constant(w, "w"));
        return BatchNormOfInputs(b, {h, in[1], in[2]}, options);
      },
      {RandomTensor(Shape({2, 2, 5, 5}), 420, -1, 1),
       RandomTensor(Shape({16}), 422, 0.5f, 1.5f),
       RandomTensor(Shape({16}), 423, -0.5f, 0.5f)},
      {0, 1, 2});
}

// A fused ReLU's gradient, through the workspace, plain [N, C] and after a
// convolution.
TEST(BatchNormGradientTest, FiniteDifferencesFusedRelu) {
  BatchNormOptions options;
  options.epsilon = 1e-2f;
  options.activation = Activation::kRelu;
  CheckGradients(
      [&](GraphBuilder& b, const std::vector<Output>& in) {
        return BatchNormOfInputs(b, in, options);
      },
      {RandomTensor(Shape({6, 4}), 430, -2, 2),
       RandomTensor(Shape({4}), 431, 0.5f, 1.5f),
       RandomTensor(Shape({4}), 432, -0.5f, 0.5f)},
      {0, 1, 2});
  Tensor w = RandomTensor(Shape({16, 2, 3, 3}), 441, -0.5f, 0.5f);
  CheckGradients(
      [&](GraphBuilder& b, const std::vector<Output>& in) {
        Output h = Conv2D(in[0], b.Constant(w, "w"));
        return BatchNormOfInputs(b, {h, in[1], in[2]}, options);
      },
      {RandomTensor(Shape({2, 2, 5, 5}), 440, -1, 1),
       RandomTensor(Shape({16}), 442, 0.5f, 1.5f),
       RandomTensor(Shape({16}), 443, -0.5f, 0.5f)},
      {0, 1, 2});
}

TEST(BatchNormGradientTest, NoGradientThroughBatchStatistics) {
  GraphBuilder b;
  Parameters p = MakeParameters(b, 3);
  Output y = BatchNorm(b.Placeholder("x", {4, 3}), p.gamma, p.beta, p.mean,
                       p.variance, {}, "bn");
  EXPECT_THAT(Gradients(Sum(OutputOf(y, 1)), {p.gamma}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("batch mean and variance")));
}

// ---------------------------------------------------------------------------
// PyTorch 1.13 goldens.

struct GoldenCase {
  std::string name;
  bool training = false, relu = false;
  float epsilon = 0, momentum = 0;
  std::map<std::string, Tensor> tensors;
};

std::string GoldenPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "nabla",
                      "/tests/norm/batch_norm.golden");
}

std::vector<GoldenCase> LoadGoldens() {
  std::ifstream in(GoldenPath());
  EXPECT_TRUE(in.good()) << GoldenPath();
  std::vector<GoldenCase> cases;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string kind;
    words >> kind;
    if (kind == "case") {
      cases.emplace_back();
      words >> cases.back().name;
    } else if (kind == "attr") {
      std::string name;
      double value;
      words >> name >> value;
      GoldenCase& c = cases.back();
      if (name == "training") c.training = value != 0;
      if (name == "relu") c.relu = value != 0;
      if (name == "epsilon") c.epsilon = static_cast<float>(value);
      if (name == "momentum") c.momentum = static_cast<float>(value);
    } else if (kind == "tensor") {
      std::string role;
      int rank;
      words >> role >> rank;
      std::vector<int64_t> dims(rank);
      for (int64_t& d : dims) words >> d;
      Tensor t(DType::kF32, Shape(absl::MakeConstSpan(dims)));
      for (int64_t i = 0; i < t.num_elements(); ++i) {
        words >> t.data<float>()[i];
      }
      EXPECT_FALSE(words.fail()) << cases.back().name << " " << role;
      cases.back().tensors.emplace(role, std::move(t));
    }
  }
  return cases;
}

TEST(BatchNormGoldenTest, MatchesTorch) {
  std::vector<GoldenCase> cases = LoadGoldens();
  ASSERT_EQ(cases.size(), 7u);
  for (const GoldenCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::map<std::string, Tensor>& t = c.tensors;
    const Tensor& x_value = t.at("x");
    GraphBuilder b;
    Output x = b.Placeholder("x", x_value.shape());
    Output gamma = ValueVariable(b, "gamma", t.at("gamma"));
    Output beta = ValueVariable(b, "beta", t.at("beta"));
    BatchNormOptions options;
    options.epsilon = c.epsilon;
    options.momentum = c.momentum;
    options.activation = c.relu ? Activation::kRelu : Activation::kLinear;
    Output y = BatchNorm(x, gamma, beta,
                         ValueVariable(b, "running_mean", t.at("running_mean")),
                         ValueVariable(b, "running_variance",
                                       t.at("running_variance")),
                         options, "bn");
    Output dy = b.Constant(t.at("dy"), "dy");
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                               Gradients({y}, {dy}, {x, gamma, beta}));
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
    // Evaluation-mode gradients need the mode forced: kAuto would train.
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan,
        session->Compile({FeedSpec{x, x_value.shape()}},
                         {y, grads[0], grads[1], grads[2]}, {},
                         CompileOptions{c.training ? RunMode::kTraining
                                                   : RunMode::kInference}));
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({x_value}, &out));
    const Shape channels({x_value.shape()[1]});
    ExpectTensorNear(out[0], x_value.shape(), ToDoubles(t.at("y")), 1e-5,
                     1e-5);
    ExpectTensorNear(out[1], x_value.shape(), ToDoubles(t.at("dx")), 1e-5,
                     1e-4);
    ExpectTensorNear(out[2], channels, ToDoubles(t.at("dgamma")), 1e-4, 1e-4);
    ExpectTensorNear(out[3], channels, ToDoubles(t.at("dbeta")), 1e-4, 1e-4);
    const VariableStore& v = session->variables();
    ExpectTensorNear(*v.Find("running_mean"), channels,
                     ToDoubles(t.at("running_mean_after")), 1e-6, 1e-5);
    ExpectTensorNear(*v.Find("running_variance"), channels,
                     ToDoubles(t.at("running_variance_after")), 1e-6, 1e-5);
  }
}

// ---------------------------------------------------------------------------
// Which mode plans get, as a Trainer uses them.

TEST(BatchNormModeTest, AutoInfersForwardOnlyAndTrainsWithGradients) {
  const Shape shape({4, 3, 2, 2});
  Problem p = MakeProblem(shape, 500);
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 2, 2});
  Output gamma = ValueVariable(b, "gamma", p.gamma);
  Output y = BatchNorm(x, gamma, ValueVariable(b, "beta", p.beta),
                       ValueVariable(b, "running_mean", p.running_mean),
                       ValueVariable(b, "running_variance", p.running_variance),
                       {}, "bn");
  Output loss = Sum(y);
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                             Gradients(loss, {gamma}));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));

  // Evaluation: forward only, kAuto.
  NABLA_ASSERT_OK_AND_ASSIGN(Plan * eval,
                             session->Compile({FeedSpec{x, shape}}, {y}));
  EXPECT_FALSE(eval->stats().training);
  std::vector<Tensor> out;
  NABLA_ASSERT_OK(eval->Run({p.x}, &out));
  Reference inference = ReferenceBatchNorm(
      shape, ToDoubles(p.x), ToDoubles(p.gamma), ToDoubles(p.beta),
      ToDoubles(p.running_mean), ToDoubles(p.running_variance), false, 1e-3,
      0.99, false);
  ExpectTensorNear(out[0], shape, inference.y, 1e-5, 1e-5);
  const VariableStore& v = session->variables();
  EXPECT_EQ(ToDoubles(*v.Find("running_mean")), ToDoubles(p.running_mean));

  // Training: the same graph with its gradient, kAuto.
  NABLA_ASSERT_OK_AND_ASSIGN(
      Plan * train, session->Compile({FeedSpec{x, shape}}, {y, grads[0]}));
  EXPECT_TRUE(train->stats().training);
  NABLA_ASSERT_OK(train->Run({p.x}, &out));
  Reference training = ReferenceBatchNorm(
      shape, ToDoubles(p.x), ToDoubles(p.gamma), ToDoubles(p.beta),
      ToDoubles(p.running_mean), ToDoubles(p.running_variance), true, 1e-3,
      0.99, false);
  ExpectTensorNear(out[0], shape, training.y, 1e-5, 1e-5);
  ExpectTensorNear(*v.Find("running_mean"), Shape({3}), training.running_mean,
                   1e-6, 1e-5);
  // d sum(y) / d gamma is sum of the normalized x: 0 up to rounding.
  ExpectTensorNear(out[1], Shape({3}), {0, 0, 0}, 1e-4, 0);
}

// ---------------------------------------------------------------------------
// Layouts: conv > BN > ReLU keeps the convolution's layout.

TEST(BatchNormLayoutTest, ConvBatchNormReluAddsNoReorders) {
  const Shape shape({2, 3, 8, 8});
  Tensor w = RandomTensor(Shape({32, 3, 3, 3}), 601, -0.5f, 0.5f);
  Tensor images = RandomTensor(shape, 600, -1, 1);
  // The same network with a plain ReLU after the convolution, and with a
  // batch normalization (fused ReLU) instead; in training, with gradients.
  int reorders[2][2];
  for (int with_bn = 0; with_bn < 2; ++with_bn) {
    for (int training = 0; training < 2; ++training) {
      GraphBuilder b;
      Output x = b.Placeholder("x", shape);
      Output wv = ValueVariable(b, "w", w);
      Output h = Conv2D(x, wv, Output(), {}, "conv");
      BatchNormOptions relu;
      relu.activation = Activation::kRelu;
      BatchNormLayer bn = BatchNormWithVariables(h, relu, "bn");
      Output y = with_bn ? bn.y : Relu(h);
      Output loss = Sum(Mul(y, y));
      std::vector<NodeOutput> fetches = {loss, h, y};
      if (training) {
        NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Output> grads,
                                   Gradients(loss, {wv}));
        fetches.push_back(grads[0]);
      }
      NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
      NABLA_ASSERT_OK_AND_ASSIGN(auto session,
                                 Session::Create(std::move(graph)));
      NABLA_ASSERT_OK_AND_ASSIGN(
          Plan * plan, session->Compile({FeedSpec{x, shape}}, fetches));
      EXPECT_EQ(plan->stats().training, training == 1);
      reorders[with_bn][training] = plan->stats().num_reorders;
      std::vector<Tensor> out;
      NABLA_ASSERT_OK(plan->Run({images}, &out));
      if (with_bn) {
        // Checked against the reference from the fetched convolution.
        Reference r = ReferenceBatchNorm(
            Shape({2, 32, 6, 6}), ToDoubles(out[1]),
            std::vector<double>(32, 1), std::vector<double>(32, 0),
            std::vector<double>(32, 0), std::vector<double>(32, 1),
            training == 1, 1e-3, 0.99, true);
        ExpectTensorNear(out[2], Shape({2, 32, 6, 6}), r.y, 1e-5, 1e-4);
      }
    }
  }
  EXPECT_EQ(reorders[1][0], reorders[0][0]);
  EXPECT_EQ(reorders[1][1], reorders[0][1]);
}

// After a pooling, whose output is channel-blocked (PoolTag in ops/pool.cc:
// nChw16c or nChw8c), in both modes, and its gradient in that layout.
TEST(BatchNormLayoutTest, ChannelBlockedInputAfterPooling) {
  const Shape shape({2, 32, 6, 6});
  const Shape pooled({2, 32, 3, 3});
  Tensor images = RandomTensor(shape, 700, -1, 2);
  for (RunMode mode : {RunMode::kTraining, RunMode::kInference}) {
    GraphBuilder b;
    Output x = b.Placeholder("x", shape);
    Output h = AvgPool2D(x, {2, 2});
    BatchNormOptions relu;
    relu.activation = Activation::kRelu;
    BatchNormLayer bn = BatchNormWithVariables(h, relu, "bn");
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
    NABLA_ASSERT_OK_AND_ASSIGN(
        Plan * plan, session->Compile({FeedSpec{x, shape}}, {h, bn.y}, {},
                                      CompileOptions{mode}));
    std::vector<Tensor> out;
    NABLA_ASSERT_OK(plan->Run({images}, &out));
    Reference r = ReferenceBatchNorm(
        pooled, ToDoubles(out[0]), std::vector<double>(32, 1),
        std::vector<double>(32, 0), std::vector<double>(32, 0),
        std::vector<double>(32, 1), mode == RunMode::kTraining, 1e-3, 0.99,
        true);
    ExpectTensorNear(out[1], pooled, r.y, 1e-5, 1e-4);
  }
  BatchNormOptions options;
  options.epsilon = 1e-2f;
  options.activation = Activation::kRelu;
  auto build = [&](GraphBuilder& b, const std::vector<Output>& in) {
    return BatchNormOfInputs(b, {AvgPool2D(in[0], {2, 2}), in[1], in[2]},
                             options);
  };
  const std::vector<Tensor> inputs = {
      RandomTensor(Shape({2, 16, 4, 4}), 710, -1, 1),
      RandomTensor(Shape({16}), 711, 0.5f, 1.5f),
      RandomTensor(Shape({16}), 712, -0.5f, 0.5f)};
  CheckGradients(build, inputs, {0, 1});
  // beta moves all 8 outputs of its channel at once, and a step of 1e-2
  // takes one of them across the ReLU's kink; a smaller step does not.
  ::nabla::testing::GradCheckOptions small_step;
  small_step.step = 1e-3;
  CheckGradients(build, inputs, {2}, small_step);
}

}  // namespace
}  // namespace nabla
