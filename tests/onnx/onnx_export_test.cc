// ONNX export, checked by the real tools: every exported model passes ONNX's
// checker (full_check) and runs in ONNX Runtime, whose outputs must agree
// with nabla's. One test per mapped op family, each run at two batch sizes
// from one export (the batch stays symbolic), then the lecture model on the
// MNIST test images, and the errors for what cannot be exported.

#include "core/file.h"
#include "export/onnx.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "examples/lecture_model.h"
#include "graph/graph_def.h"
#include "infer/saved_model.h"
#include "ops/ops.h"
#include "tests/onnx/onnx_runtime.h"
#include "tests/test_util.h"
#include "train/idx.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

using ::nabla::testing::CheckOnnxModel;
using ::nabla::testing::RandomTensor;
using ::nabla::testing::RunOnnxRuntime;
using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using Feeds = std::vector<std::pair<Output, Tensor>>;

// The tolerance of every comparison with ONNX Runtime: |nabla - ort| <=
// kTolerance * max(1, |nabla|).
constexpr double kTolerance = 1e-5;

// The largest |a - b| / max(1, |a|) over two tensors of equal shape.
double MaxScaledDifference(const Tensor& a, const Tensor& b) {
  std::vector<double> x = testing::ToDoubles(a), y = testing::ToDoubles(b);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, std::abs(x[i] - y[i]) / std::max(1.0, std::abs(x[i])));
  }
  return worst;
}

std::string PlaceholderName(const Output& placeholder) {
  return placeholder.builder()->graph().node(placeholder.ref().node).name;
}

absl::StatusOr<std::string> WriteModel(const onnx::ModelProto& model) {
  std::string path = TestDir() + "/model.onnx";
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return absl::InternalError("serialize");
  NABLA_RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
  return path;
}

// Exports `outputs` of the builder's graph once, checks the model with
// ONNX's checker, then runs it in ONNX Runtime and in nabla on each set of
// feeds and expects the same dtypes, shapes and values.
void ExpectOnnxMatchesNabla(GraphBuilder& b, const std::vector<Output>& outputs,
                            const std::vector<Feeds>& feed_sets,
                            const OnnxExportOptions& base_options = {}) {
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  OnnxExportOptions options = base_options;
  std::vector<NodeOutput> fetches;
  for (const Output& out : outputs) {
    options.outputs.push_back(out.name());
    fetches.push_back(out);
  }
  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto model, ExportOnnx(*session, options));
  ASSERT_EQ(model.graph().output_size(), static_cast<int>(outputs.size()));
  NABLA_ASSERT_OK_AND_ASSIGN(std::string path, WriteModel(model));
  NABLA_ASSERT_OK(CheckOnnxModel(path));

  for (const Feeds& feeds : feed_sets) {
    std::vector<std::pair<NodeOutput, Tensor>> nabla_feeds;
    std::vector<std::pair<std::string, Tensor>> onnx_feeds;
    for (const auto& [placeholder, value] : feeds) {
      nabla_feeds.push_back({placeholder, value});
      onnx_feeds.push_back({PlaceholderName(placeholder), value});
    }
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> expected,
                               session->Run(nabla_feeds, fetches));
    NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> actual,
                               RunOnnxRuntime(path, onnx_feeds));
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
      SCOPED_TRACE(absl::StrCat("output ", outputs[i].name(), " at feed shape ",
                                feeds[0].second.shape().ToString()));
      ASSERT_EQ(actual[i].dtype(), expected[i].dtype());
      ASSERT_EQ(actual[i].shape(), expected[i].shape());
      double diff = MaxScaledDifference(expected[i], actual[i]);
      EXPECT_LE(diff, kTolerance);
      if (expected[i].dtype() != DType::kF32) {
        EXPECT_EQ(diff, 0);  // integers exactly
      }
    }
  }
}

// Random f32 feeds for `x` at two batch sizes.
std::vector<Feeds> TwoBatches(Output x, uint64_t seed, float lo = -1, float hi = 1) {
  std::vector<Feeds> sets;
  for (int64_t batch : {2, 5}) {
    sets.push_back({{x, RandomTensor(x.shape().WithDim(0, batch), seed + batch, lo, hi)}});
  }
  return sets;
}

// A weight with random values in [-0.5, 0.5).
Output RandomVariable(GraphBuilder& b, absl::string_view name, const Shape& shape,
                      uint64_t seed) {
  return b.Variable(name, shape,
                    Initializer::Value(RandomTensor(shape, seed, -0.5f, 0.5f)));
}

TEST(OnnxConvTest, ValidWithoutBias) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 9, 8});
  Output y = Conv2D(x, RandomVariable(b, "w", {4, 3, 3, 3}, 1), Output(), {}, "conv");
  ExpectOnnxMatchesNabla(b, {y}, TwoBatches(x, 10));
}

TEST(OnnxConvTest, SameStridedWithBiasAndRelu) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 10, 9});
  Conv2DOptions options;
  options.padding = "same";
  options.strides = {2, 2};
  options.activation = Activation::kRelu;
  Output y = Conv2D(x, b.Variable("w", {5, 3, 4, 3}, Initializer::GlorotUniform(3)),
                    b.Variable("bias", {5}, Initializer::GlorotUniform(4)), options,
                    "conv");
  ExpectOnnxMatchesNabla(b, {y}, TwoBatches(x, 20));
}

TEST(OnnxConvTest, ExplicitPaddingAndDilation) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 11, 12});
  Conv2DOptions options;
  options.padding = "explicit";
  options.explicit_paddings = {1, 2, 0, 3};
  options.dilations = {2, 1};
  options.strides = {1, 2};
  Output y = Conv2D(x, RandomVariable(b, "w", {3, 2, 3, 3}, 5),
                    RandomVariable(b, "bias", {3}, 6), options, "conv");
  ExpectOnnxMatchesNabla(b, {y}, TwoBatches(x, 30));
}

TEST(OnnxConvTest, SameWithUnknownImageSizeBecomesAutoPad) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, kUnknownDim, kUnknownDim});
  Conv2DOptions options;
  options.padding = "same";
  options.strides = {2, 1};
  Output y = Conv2D(x, RandomVariable(b, "w", {3, 2, 4, 3}, 7), Output(), options, "conv");
  // Odd and even sizes: SAME_UPPER puts the odd pixel of padding after, as
  // nabla does.
  std::vector<Feeds> feeds = {{{x, RandomTensor(Shape({2, 2, 7, 6}), 31)}},
                              {{x, RandomTensor(Shape({1, 2, 10, 9}), 32)}}};
  ExpectOnnxMatchesNabla(b, {y}, feeds);
}

TEST(OnnxPoolTest, MaxPoolValidAndSame) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 9, 10});
  Output valid = MaxPool2D(x, {2, 2}, {2, 2}, "valid", "valid");
  Output same = MaxPool2D(x, {3, 3}, {2, 2}, "same", "same");
  ExpectOnnxMatchesNabla(b, {valid, same}, TwoBatches(x, 40));
}

TEST(OnnxPoolTest, AvgPoolLeavesPaddingOut) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 7, 8});
  Output valid = AvgPool2D(x, {2, 3}, {}, "valid", "valid");
  // At the border the window covers padding, which the mean leaves out.
  Output same = AvgPool2D(x, {3, 3}, {1, 1}, "same", "same");
  ExpectOnnxMatchesNabla(b, {valid, same}, TwoBatches(x, 50, 0, 1));
}

TEST(OnnxActivationTest, ReluSigmoidTanhLeakyRelu) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 7});
  ExpectOnnxMatchesNabla(
      b, {Relu(x, "relu"), Sigmoid(x, "sigmoid"), Tanh(x, "tanh"),
          LeakyRelu(x, 0.1f, "leaky")},
      TwoBatches(x, 60, -4, 4));
}

TEST(OnnxDenseTest, DenseLinearAndRelu) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 6});
  Output h = Dense(x, b.Variable("w1", {6, 5}, Initializer::GlorotUniform(7)),
                   RandomVariable(b, "b1", {5}, 8), Activation::kRelu, "dense1");
  Output y = Dense(h, b.Variable("w2", {5, 3}, Initializer::GlorotUniform(9)),
                   RandomVariable(b, "b2", {3}, 10), Activation::kLinear, "dense2");
  ExpectOnnxMatchesNabla(b, {h, y}, TwoBatches(x, 70));
}

TEST(OnnxDenseTest, MatMulPlainAndTransposed) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output plain = MatMul(x, RandomVariable(b, "w", {4, 3}, 11), false, false, "plain");
  Output tb = MatMul(x, RandomVariable(b, "wt", {3, 4}, 12), false, true, "tb");
  ExpectOnnxMatchesNabla(b, {plain, tb}, TwoBatches(x, 80));

  GraphBuilder b2;
  Output columns = b2.Placeholder("columns", {4, kUnknownDim});
  Output ta = MatMul(columns, RandomVariable(b2, "w", {4, 3}, 13), true, false, "ta");
  std::vector<Feeds> feeds = {{{columns, RandomTensor(Shape({4, 2}), 14)}},
                              {{columns, RandomTensor(Shape({4, 6}), 15)}}};
  ExpectOnnxMatchesNabla(b2, {ta}, feeds);
}

TEST(OnnxSoftmaxTest, SoftmaxAndLogSoftmaxAlongAnAxis) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4, 5});
  ExpectOnnxMatchesNabla(b,
                         {Softmax(x, -1, "softmax"), Softmax(x, 1, "softmax_axis1"),
                          LogSoftmax(x, -1, "log_softmax")},
                         TwoBatches(x, 90, -10, 10));
}

TEST(OnnxShapeOpsTest, FlattenReshapeIdentity) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 3, 4});
  ExpectOnnxMatchesNabla(b,
                         {Flatten(x, "flat"), Reshape(x, {kUnknownDim, 6, 4}, "reshaped"),
                          Identity(x, "same")},
                         TwoBatches(x, 100));
}

TEST(OnnxArithTest, AddSubMulBroadcastWithConstants) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 4});
  Output row = b.Constant(RandomTensor(Shape({4}), 16), "row");
  Output column = b.Constant(RandomTensor(Shape({3, 1}), 17), "column");
  ExpectOnnxMatchesNabla(
      b, {Add(x, row, "add"), Sub(column, x, "sub"), Mul(x, x, "square"),
          Mul(Add(x, column), b.Scalar(3.0f, "three"), "mul")},
      TwoBatches(x, 110));
}

TEST(OnnxArithTest, CastWithScaleKeepsIntegerInputs) {
  GraphBuilder b;
  Output pixels = b.Placeholder("pixels", {kUnknownDim, 5}, DType::kU8);
  Output counts = b.Placeholder("counts", {kUnknownDim, 5}, DType::kI32);
  Output x = b.Placeholder("x", {kUnknownDim, 5});
  std::vector<Feeds> feeds;
  for (int64_t batch : {2, 5}) {
    Tensor p(DType::kU8, Shape({batch, 5})), c(DType::kI32, Shape({batch, 5}));
    for (int64_t i = 0; i < p.num_elements(); ++i) {
      p.data<uint8_t>()[i] = static_cast<uint8_t>(i * 37 + batch);
      c.data<int32_t>()[i] = static_cast<int32_t>(i * 1000 - 7);
    }
    feeds.push_back({{pixels, p}, {counts, c}, {x, RandomTensor(Shape({batch, 5}), 120)}});
  }
  ExpectOnnxMatchesNabla(b,
                         {Cast(pixels, 1.0f / 255, "rescale"), Cast(counts, 1.0f, "counts_f"),
                          Cast(x, 2.0f, "doubled"), Cast(x, 1.0f, "as_is")},
                         feeds);

  // The exported model takes the u8 pixels themselves.
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  OnnxExportOptions options;
  options.outputs = {"rescale"};
  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto model, ExportOnnx(*session, options));
  ASSERT_EQ(model.graph().input_size(), 1);
  EXPECT_EQ(model.graph().input(0).type().tensor_type().elem_type(),
            onnx::TensorProto::UINT8);
  ASSERT_EQ(model.graph().node_size(), 2);
  EXPECT_EQ(model.graph().node(0).op_type(), "Cast");
  EXPECT_EQ(model.graph().node(1).op_type(), "Mul");
}

TEST(OnnxArithTest, SumAndMean) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 4});
  ExpectOnnxMatchesNabla(b,
                         {Sum(x, {1}, false, "sum1"), Sum(x, {-1}, true, "sum_keep"),
                          Sum(x, {}, false, "sum_all"), Mean(x, {2}, false, "mean2"),
                          Mean(x, {}, true, "mean_all")},
                         TwoBatches(x, 130));
}

TEST(OnnxMetricsTest, ArgMaxIsInt64) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 10});
  ExpectOnnxMatchesNabla(b, {ArgMax(x, -1, "class")}, TwoBatches(x, 140));
}

TEST(OnnxArithTest, ZerosLike) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  ExpectOnnxMatchesNabla(b, {ZerosLike(Relu(x), "zeros")}, TwoBatches(x, 150));
}

// The inference form, from the running statistics; a fused ReLU becomes a
// Relu after it. NCHW and [N, C], at the lowest and highest opset.
TEST(OnnxNormalizationTest, BatchNormFromRunningStatistics) {
  for (int64_t opset : {kOnnxMinOpset, kOnnxMaxOpset}) {
    for (const Shape& shape : {Shape({kUnknownDim, 3, 5, 4}), Shape({kUnknownDim, 6})}) {
      SCOPED_TRACE(absl::StrCat("opset ", opset, " x ", shape.ToString()));
      GraphBuilder b;
      Output x = b.Placeholder("x", shape);
      const Shape c({shape[1]});
      Output gamma = b.Variable("gamma", c, Initializer::Value(RandomTensor(c, 180, 0.5f, 1.5f)));
      Output variance =
          b.Variable("variance", c, Initializer::Value(RandomTensor(c, 183, 0.5f, 2.f)));
      BatchNormOptions options;
      options.epsilon = 1e-2f;
      Output linear = BatchNorm(x, gamma, RandomVariable(b, "beta", c, 181),
                                RandomVariable(b, "mean", c, 182), variance, options, "bn");
      options.activation = Activation::kRelu;
      Output relu = BatchNorm(x, gamma, RandomVariable(b, "beta2", c, 184),
                              RandomVariable(b, "mean2", c, 185), variance, options, "bn_relu");
      OnnxExportOptions export_options;
      export_options.opset = opset;
      ExpectOnnxMatchesNabla(b, {linear, relu}, TwoBatches(x, 190), export_options);
    }
  }
}

TEST(OnnxExportTest, HigherOpsetsToo) {
  for (int64_t opset : {kOnnxMinOpset, kOnnxMaxOpset}) {
    SCOPED_TRACE(absl::StrCat("opset ", opset));
    GraphBuilder b;
    Output x = b.Placeholder("x", {kUnknownDim, 2, 6, 6});
    Output h = MaxPool2D(Conv2D(x, RandomVariable(b, "w", {3, 2, 3, 3}, 160)), {2, 2});
    Output y = Softmax(Dense(Flatten(h), RandomVariable(b, "w2", {12, 4}, 161),
                             RandomVariable(b, "b2", {4}, 162)),
                       -1, "probabilities");
    OnnxExportOptions options;
    options.opset = opset;
    ExpectOnnxMatchesNabla(b, {y}, TwoBatches(x, 170), options);
  }
}

TEST(OnnxLectureTest, ExportsOnlyTheInferencePath) {
  GraphBuilder b;
  LectureModel model = BuildLectureModel(b, 3);
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep step, Adam().Minimize(model.loss, model.variables));
  (void)step;
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto model_proto, ExportOnnx(*session));

  EXPECT_EQ(model_proto.opset_import(0).version(), 13);
  const onnx::GraphProto& g = model_proto.graph();
  ASSERT_EQ(g.input_size(), 1);  // no labels: the loss is left out
  EXPECT_EQ(g.input(0).name(), "images");
  const onnx::TensorShapeProto& shape = g.input(0).type().tensor_type().shape();
  ASSERT_EQ(shape.dim_size(), 4);
  EXPECT_EQ(shape.dim(0).dim_param(), "N");
  EXPECT_EQ(shape.dim(2).dim_value(), 28);
  ASSERT_EQ(g.output_size(), 1);
  EXPECT_EQ(g.output(0).name(), "probabilities");
  EXPECT_EQ(g.output(0).type().tensor_type().shape().dim(0).dim_param(), "N");

  std::vector<std::string> ops;
  for (const onnx::NodeProto& node : g.node()) ops.push_back(node.op_type());
  EXPECT_THAT(ops, ElementsAre("Cast", "Mul", "Conv", "Relu", "MaxPool", "Conv", "Relu",
                               "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Softmax"));
  std::vector<std::string> initializers;
  for (const onnx::TensorProto& t : g.initializer()) initializers.push_back(t.name());
  std::sort(initializers.begin(), initializers.end());
  // The eight weights and the rescaling factor; no optimizer slot.
  EXPECT_THAT(initializers,
              ElementsAre("conv1/b", "conv1/w", "conv2/b", "conv2/w", "dense1/b",
                          "dense1/w", "dense2/b", "dense2/w", "rescale/scale"));
}

std::string MnistDir() {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") +
         "/data/mnist";
}

// Exports the session's "probabilities", runs the model on the 10,000 MNIST
// test images in ONNX Runtime and in nabla, and expects the probabilities
// within kTolerance and every predicted class the same.
void ExpectLectureAgreesOnMnist(Session& session, const std::string& what) {
  IdxOptions pixels;
  pixels.images_as_float = false;
  NABLA_ASSERT_OK_AND_ASSIGN(MnistData test, LoadMnist(MnistDir(), "t10k", pixels));
  const int64_t n = test.images.shape()[0];
  ASSERT_EQ(n, 10000);

  std::string path = TestDir() + "/lecture.onnx";
  NABLA_ASSERT_OK(ExportOnnxFile(session, path));
  NABLA_ASSERT_OK(CheckOnnxModel(path));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ort,
                             RunOnnxRuntime(path, {{"images", test.images}}));
  ASSERT_EQ(ort.size(), 1u);
  ASSERT_EQ(ort[0].shape(), Shape({n, 10}));

  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput images, session.graph().FindOutput("images"));
  NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput probabilities,
                             session.graph().FindOutput("probabilities"));
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> ours,
                             session.Run({{images, test.images}}, {probabilities}));
  const float* a = ours[0].data<float>();
  const float* o = ort[0].data<float>();
  double worst = 0;
  int64_t agree = 0, correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    int ours_class = 0, ort_class = 0;
    for (int c = 0; c < 10; ++c) {
      worst = std::max(worst, std::abs(double{a[i * 10 + c]} - o[i * 10 + c]));
      if (a[i * 10 + c] > a[i * 10 + ours_class]) ours_class = c;
      if (o[i * 10 + c] > o[i * 10 + ort_class]) ort_class = c;
    }
    agree += ours_class == ort_class;
    correct += ours_class == test.labels.data<int32_t>()[i];
  }
  std::printf("%s: ONNX Runtime vs nabla on %lld MNIST test images: largest |dp| %.4g, "
              "classes agree on %lld, nabla accuracy %.4f\n",
              what.c_str(), static_cast<long long>(n), worst,
              static_cast<long long>(agree), static_cast<double>(correct) / n);
  EXPECT_LE(worst, kTolerance);
  EXPECT_EQ(agree, n);
}

TEST(OnnxLectureTest, ShippedModelAgreesWithOnnxRuntimeOnMnist) {
  NABLA_ASSERT_OK_AND_ASSIGN(std::string dir, ShippedModelDir());
  NABLA_ASSERT_OK_AND_ASSIGN(SavedModel model, LoadSavedModel(dir));
  ExpectLectureAgreesOnMnist(*model.session, "shipped lecture model (data/models/lecture)");
}

// Errors: what has no ONNX counterpart is refused with the op and node.

struct ExportErrorGraph {
  ExportErrorGraph() {
    x = b.Placeholder("x", {kUnknownDim, 4});
    labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
    w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(1));
    bias = b.Variable("bias", {3}, Initializer::Zeros());
    logits = Dense(x, w, bias, Activation::kLinear, "logits");
    Output probabilities = Softmax(logits, -1, "probabilities");
    (void)probabilities;
    loss = SoftmaxCrossEntropy(logits, labels, Reduction::kMean, "loss");
    pooled = MaxPool2D(Reshape(x, {kUnknownDim, 1, 2, 2}), {2, 2}, {}, "valid", "pool");
    summed = SumTo(logits, Shape({3}), "sum_to");
  }
  absl::StatusOr<onnx::ModelProto> Export(std::vector<std::string> outputs) {
    absl::StatusOr<Graph> graph = b.Build();
    if (!graph.ok()) return graph.status();
    absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*std::move(graph));
    if (!session.ok()) return session.status();
    OnnxExportOptions options;
    options.outputs = std::move(outputs);
    return ExportOnnx(**session, options);
  }
  GraphBuilder b;
  Output x, labels, w, bias, logits, loss, pooled, summed;
};

TEST(OnnxExportErrorTest, DefaultOutputIsProbabilities) {
  ExportErrorGraph g;
  NABLA_ASSERT_OK_AND_ASSIGN(onnx::ModelProto model, g.Export({}));
  ASSERT_EQ(model.graph().output_size(), 1);
  EXPECT_EQ(model.graph().output(0).name(), "probabilities");
  ASSERT_EQ(model.graph().input_size(), 1);
  EXPECT_EQ(model.graph().input(0).name(), "x");
}

TEST(OnnxExportErrorTest, LossIsTrainingOnly) {
  ExportErrorGraph g;
  EXPECT_THAT(g.Export({"loss"}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("SoftmaxCrossEntropy node 'loss'"),
                             HasSubstr("training-only"))));
}

TEST(OnnxExportErrorTest, GradientsAndUpdatesAreTrainingOnly) {
  ExportErrorGraph g;
  NABLA_ASSERT_OK_AND_ASSIGN(TrainStep step, Sgd(0.1f).Minimize(g.loss, {g.w, g.bias}));
  // A gradient built from ordinary ops still needs the loss.
  EXPECT_THAT(g.Export({step.gradients[0].name()}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("SoftmaxCrossEntropy node 'loss'"),
                             HasSubstr("training-only"))));
  ReluGrad(g.x, Relu(g.x), "relu_grad");
  EXPECT_THAT(g.Export({"relu_grad"}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("ReluGrad node 'relu_grad'"),
                             HasSubstr("computes a gradient, which is training-only"))));
  EXPECT_THAT(g.Export({step.updates[0].name()}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("ApplySgd node"), HasSubstr("updates a variable"))));
}

TEST(OnnxExportErrorTest, UnmappedOpNamesOpAndNode) {
  ExportErrorGraph g;
  EXPECT_THAT(g.Export({"sum_to"}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("SumTo node 'sum_to'"),
                             HasSubstr("no ONNX mapping"))));
  EXPECT_THAT(g.Export({"pool:1"}),
              StatusIs(absl::StatusCode::kUnimplemented,
                       AllOf(HasSubstr("MaxPool2D node 'pool'"),
                             HasSubstr("output 1 ('workspace')"))));
}

TEST(OnnxExportErrorTest, BadOutputsAndOptions) {
  ExportErrorGraph g;
  EXPECT_THAT(g.Export({"nope"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nope")));
  EXPECT_THAT(g.Export({"w"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("'w' is a Variable")));
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, g.b.Build());
  VariableStore empty;
  EXPECT_THAT(ExportOnnx(graph, empty),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("variable 'w' has no value")));
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(graph));
  OnnxExportOptions old;
  old.opset = 12;
  EXPECT_THAT(ExportOnnx(*session, old),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("opset 12")));
  absl::Status unwritable = ExportOnnxFile(*session, TestDir() + "/no/such/dir/m.onnx");
  EXPECT_FALSE(unwritable.ok());
  EXPECT_THAT(std::string(unwritable.message()), HasSubstr("m.onnx"));
}

}  // namespace
}  // namespace nabla
