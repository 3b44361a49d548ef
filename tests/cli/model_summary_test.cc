// Parameters and FLOPs of the lecture model, computed by hand beside the
// summary's.

#include "tools/model_summary.h"

#include "gmock/gmock.h"
#include "graph/builder.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/cli/lecture_graphs.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::BuildLectureGraph;
using ::nabla::testing::LectureGraph;
using ::testing::HasSubstr;

// Multiply-adds per example, by hand: conv k*k*cin*cout*hout*wout, dense
// in*out.
constexpr int64_t kConv1 = 2 * 5 * 5 * 1 * 32 * 24 * 24;   // 921,600
constexpr int64_t kConv2 = 2 * 5 * 5 * 32 * 64 * 8 * 8;   // 6,553,600
constexpr int64_t kDense1 = 2 * 1024 * 1000;              // 2,048,000
constexpr int64_t kDense2 = 2 * 1000 * 10;                // 20,000
constexpr int64_t kForward = kConv1 + kConv2 + kDense1 + kDense2;
// Backward: a weight gradient for every layer, an input gradient for all
// but the first (the images need none).
constexpr int64_t kTraining = kForward + kConv1 + 2 * (kConv2 + kDense1 + kDense2);

const LayerSummary* Layer(const ModelSummary& summary, const std::string& name) {
  for (const LayerSummary& layer : summary.layers) {
    if (layer.name == name) return &layer;
  }
  ADD_FAILURE() << "no layer " << name;
  return nullptr;
}

TEST(SummarizeModel, LectureTrainingGraph) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  ModelSummary summary = SummarizeModel(graph);
  EXPECT_EQ(kForward, 9543200);
  EXPECT_EQ(kTraining, 27708000);  // the 27.7 MFLOP the team quotes
  EXPECT_EQ(summary.forward_flops, kForward);
  EXPECT_EQ(summary.training_flops, kTraining);
  EXPECT_EQ(summary.training_source, TrainingFlopsSource::kOptimizerUpdates);
  EXPECT_EQ(summary.params, 832 + 51264 + 1025000 + 10010);
  EXPECT_EQ(summary.param_bytes, 4 * summary.params);
  EXPECT_EQ(summary.variables, 8);
  // Each convolution's ReLU backward runs on the pooled gradient
  // (ops/conv.cc, MaskedPoolGradient): the plain pooling gradients beside
  // it, and conv1's input gradient (the images need none), are in the
  // graph but no update needs them.
  EXPECT_EQ(summary.backward_nodes, 17);
  EXPECT_EQ(summary.unused_backward_nodes, 3);
  EXPECT_EQ(summary.optimizer_updates, 9);     // 8 ApplyAdam, the step count
  EXPECT_EQ(summary.optimizer_variables, 18);  // 16 moments, rate, count
  EXPECT_EQ(summary.optimizer_state_elements, 2 * summary.params + 2);

  std::vector<std::string> names;
  for (const LayerSummary& layer : summary.layers) names.push_back(layer.name);
  EXPECT_THAT(names, ::testing::ElementsAre("images", "rescale", "conv1", "pool1",
                                            "conv2", "pool2", "flatten", "dense1",
                                            "dense2", "probabilities"));
  const LayerSummary* conv2 = Layer(summary, "conv2");
  ASSERT_NE(conv2, nullptr);
  EXPECT_EQ(conv2->op, "Conv2DWithBias");
  EXPECT_EQ(conv2->params, 64 * 32 * 5 * 5 + 64);
  EXPECT_EQ(conv2->flops, kConv2);
  EXPECT_EQ(conv2->outputs[0].ToString(), "f32[?,64,8,8]");
  EXPECT_EQ(Layer(summary, "pool1")->outputs.size(), 2u);
  EXPECT_EQ(Layer(summary, "dense1")->flops, kDense1);
  EXPECT_THAT(summary.losses,
              ::testing::ElementsAre("loss (SoftmaxCrossEntropy)", "accuracy (Accuracy)"));
  EXPECT_THAT(summary.label_inputs, ::testing::ElementsAre("labels i32[?]"));
}

TEST(SummarizeModel, ModelAloneEstimatesTheSameTrainingStep) {
  ModelSummary summary = SummarizeModel(BuildLectureGraph(LectureGraph::kModelOnly));
  EXPECT_EQ(summary.forward_flops, kForward);
  EXPECT_EQ(summary.training_source, TrainingFlopsSource::kEstimated);
  EXPECT_EQ(summary.training_flops, kTraining);
  EXPECT_EQ(summary.backward_nodes, 0);
}

TEST(SummarizeModel, GradientsWithoutOptimizerCountEveryGradientNode) {
  ModelSummary summary = SummarizeModel(BuildLectureGraph(LectureGraph::kGradientsOnly));
  EXPECT_EQ(summary.training_source, TrainingFlopsSource::kGradientNodes);
  // Without a training step to prune it, conv1's input gradient counts.
  EXPECT_EQ(summary.training_flops, kTraining + kConv1);
}

TEST(NodeFlops, MatMulTransposes) {
  GraphBuilder b;
  Output a = b.Placeholder("a", {kUnknownDim, 7});
  Output c = b.Placeholder("c", {kUnknownDim, 5});
  Output w = b.Placeholder("w", {7, 3});
  Output ab = MatMul(a, w, false, false, "ab");        // [?,3]: 2*1*3*7
  Output at = MatMul(a, c, true, false, "at");         // [7,5]: 2*7*5*1
  Output bt = MatMul(w, w, false, true, "bt");         // [7,7]: 2*7*7*3
  ASSERT_TRUE(bt.valid() && at.valid() && ab.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("ab")), 2 * 3 * 7);
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("at")), 2 * 7 * 5);
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("bt")), 2 * 7 * 7 * 3);
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("a")), 0);
}

TEST(NodeFlops, Int8LayersCountAsTheirF32Forms) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3, 6, 6}, DType::kU8);
  Output filters = b.Variable("filters", {4, 3, 3, 3}, Initializer::Zeros());
  Output conv_bias = b.Variable("conv_bias", {4}, Initializer::Zeros());
  Output w = b.Variable("w", {4 * 4 * 4, 5}, Initializer::Zeros());
  Output dense_bias = b.Variable("dense_bias", {5}, Initializer::Zeros());
  QuantizedOptions options;
  Output conv = QuantizedConv2D(x, filters, conv_bias, options, "conv");
  options.output_type = DType::kF32;
  // [?, 4, 4, 4] read flat as [?, 64].
  Output dense = QuantizedDense(conv, w, dense_bias, options, "dense");
  ASSERT_TRUE(dense.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("conv")), 2 * 4 * 4 * 4 * 3 * 3 * 3);
  EXPECT_EQ(NodeFlops(graph, *graph.FindNode("dense")), 2 * 5 * 64);
}

TEST(FormatModelSummary, TableAndTotals) {
  std::string text = FormatModelSummary(
      SummarizeModel(BuildLectureGraph(LectureGraph::kTraining)), "lecture");
  EXPECT_THAT(text, HasSubstr("Model: lecture\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex(
                        "conv1 \\(Conv2DWithBias\\) +f32\\[\\?,32,24,24\\] +832 +921,600\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex(
                        "dense1 \\(Dense\\) +f32\\[\\?,1000\\] +1,025,000 +2,048,000\n"));
  EXPECT_THAT(text, ::testing::ContainsRegex("\n +1: u8\\[\\?,32,12,12\\]\n"));
  EXPECT_THAT(text, HasSubstr("Total params: 1,087,106 (4.15 MiB) in 8 variables\n"));
  EXPECT_THAT(text, HasSubstr("Forward pass: 9.54 MFLOP per example (9,543,200)\n"));
  EXPECT_THAT(text, HasSubstr("Training step: 27.71 MFLOP per example (27,708,000),\n"
                              "  counted over the nodes a training step"));
  EXPECT_THAT(text, HasSubstr("Training graph: 17 backward nodes (and 3 that no "
                              "update needs), 9 optimizer updates"));
  EXPECT_THAT(text, HasSubstr("Loss and metrics: loss (SoftmaxCrossEntropy), "
                              "accuracy (Accuracy), on labels i32[?]\n"));
  // No line ends in a space.
  EXPECT_THAT(text, ::testing::Not(HasSubstr(" \n")));
}

}  // namespace
}  // namespace nabla
