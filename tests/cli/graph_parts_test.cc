// Telling a training graph's parts apart: model, loss, backward, optimizer.

#include "export/graph_parts.h"

#include "graph/builder.h"
#include "gtest/gtest.h"
#include "ops/ops.h"
#include "tests/cli/lecture_graphs.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::BuildLectureGraph;
using ::nabla::testing::LectureGraph;

GraphPart PartOf(const Graph& graph, const GraphParts& parts, const char* name) {
  absl::StatusOr<int> id = graph.FindNode(name);
  EXPECT_TRUE(id.ok()) << name;
  return id.ok() ? parts.part[*id] : GraphPart::kModel;
}

TEST(SplitGraph, LectureTrainingGraph) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  GraphParts parts = SplitGraph(graph);
  ASSERT_EQ(static_cast<int>(parts.part.size()), graph.num_nodes());
  for (const char* name : {"images", "rescale", "conv1/w", "conv1/b", "conv1", "pool1",
                           "conv2", "pool2", "flatten", "dense1", "dense2/w",
                           "dense2", "probabilities"}) {
    EXPECT_EQ(PartOf(graph, parts, name), GraphPart::kModel) << name;
  }
  for (const char* name : {"labels", "loss", "accuracy"}) {
    EXPECT_EQ(PartOf(graph, parts, name), GraphPart::kLoss) << name;
  }
  for (const char* name : {"loss_grad/ones", "loss_grad/dlogits", "dense2_grad/dw",
                           "dense1_grad/relu", "flatten_grad/reshape", "pool2_grad/dx",
                           "conv1_grad/dx", "conv1_grad/dw"}) {
    EXPECT_EQ(PartOf(graph, parts, name), GraphPart::kBackward) << name;
  }
  for (const char* name : {"Adam/learning_rate", "Adam/iterations", "Adam/one",
                           "Adam/increment", "conv1/w/adam_m", "dense2/b/adam_v",
                           "Adam/update/conv1/w", "Adam/update/dense2/b"}) {
    EXPECT_EQ(PartOf(graph, parts, name), GraphPart::kOptimizer) << name;
  }
  // 8 variables + 2 placeholders... : every node is in exactly one part.
  EXPECT_EQ(parts.Count(GraphPart::kModel) + parts.Count(GraphPart::kLoss) +
                parts.Count(GraphPart::kBackward) + parts.Count(GraphPart::kOptimizer),
            graph.num_nodes());
  EXPECT_EQ(parts.Count(GraphPart::kLoss), 3);
  // 20: each convolution's ReLU backward runs on the pooled gradient, a
  // ReluGrad and a MaxPool2DGrad of its own (ops/conv.cc), beside the plain
  // pooling gradient the graph keeps for d loss / d (ReLU output).
  EXPECT_EQ(parts.Count(GraphPart::kBackward), 20);
  // 8 updates, the step increment, 16 slots, the rate, the count, the one.
  EXPECT_EQ(parts.Count(GraphPart::kOptimizer), 28);
}

TEST(SplitGraph, ModelAloneIsModelAndLoss) {
  Graph graph = BuildLectureGraph(LectureGraph::kModelOnly);
  GraphParts parts = SplitGraph(graph);
  EXPECT_EQ(parts.Count(GraphPart::kBackward), 0);
  EXPECT_EQ(parts.Count(GraphPart::kOptimizer), 0);
  EXPECT_EQ(parts.Nodes(GraphPart::kLoss).size(), 3u);
  EXPECT_EQ(PartOf(graph, parts, "probabilities"), GraphPart::kModel);
}

TEST(SplitGraph, GradientNamesNeedTheirNode) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 3});
  Output w = b.Variable("w", {3, 2}, Initializer::Zeros());
  // "my_grad" looks like a gradient name, but there is no node "my".
  Output y = MatMul(x, w, false, false, "my_grad");
  Output y_grad = Relu(y, "y_grad");  // there is no node "y" either
  Output relu = Relu(y_grad, "relu");
  // Named as autodiff names things, for an existing node.
  Output g = Relu(relu, "relu_grad_2/x");
  ASSERT_TRUE(g.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  GraphParts parts = SplitGraph(graph);
  EXPECT_EQ(PartOf(graph, parts, "my_grad"), GraphPart::kModel);
  EXPECT_EQ(PartOf(graph, parts, "y_grad"), GraphPart::kModel);
  EXPECT_EQ(PartOf(graph, parts, "relu_grad_2/x"), GraphPart::kBackward);
}

TEST(SplitGraph, WithoutWeightsEveryPlaceholderIsAnInput) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {4});
  Output y = b.Placeholder("y", {4});
  Output sum = Add(x, y, "sum");
  ASSERT_TRUE(sum.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  GraphParts parts = SplitGraph(graph);
  EXPECT_EQ(parts.Count(GraphPart::kModel), 3);
}

TEST(NeededBy, FollowsInputs) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  NABLA_ASSERT_OK_AND_ASSIGN(int update, graph.FindNode("Adam/update/conv1/w"));
  std::vector<bool> needed = NeededBy(graph, {update});
  auto is_needed = [&](const char* name) { return needed[*graph.FindNode(name)]; };
  EXPECT_TRUE(is_needed("conv1_grad/dw"));
  EXPECT_TRUE(is_needed("images"));
  EXPECT_TRUE(is_needed("labels"));
  // The images need no gradient; nothing asks for conv1's input gradient.
  EXPECT_FALSE(is_needed("conv1_grad/dx"));
  EXPECT_FALSE(is_needed("probabilities"));
  EXPECT_FALSE(is_needed("Adam/update/conv2/w"));
}

}  // namespace
}  // namespace nabla
