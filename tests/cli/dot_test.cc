// The DOT writer: what each view draws, how nodes are told apart, quoting.
// Graphviz itself parses the output in tests/cli/nabla_test.cc.

#include "export/dot.h"

#include "absl/strings/match.h"
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
using ::testing::Not;

TEST(GraphToDot, InferenceDrawsTheModelOnly) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  std::string dot = GraphToDot(graph);
  EXPECT_TRUE(absl::StartsWith(dot, "digraph nabla {\n"));
  EXPECT_TRUE(absl::EndsWith(dot, "}\n"));
  EXPECT_THAT(dot, HasSubstr("label=\"conv1\\nConv2DWithBias\\nf32[?,32,24,24]\""));
  EXPECT_THAT(dot, HasSubstr("label=\"pool1\\nMaxPool2D\\n0: f32[?,32,12,12]\\n1: u8[?,32,12,12]\""));
  EXPECT_THAT(dot, HasSubstr("label=\"images\\nu8[?,1,28,28]\", shape=invhouse"));
  EXPECT_THAT(dot, HasSubstr("label=\"conv1/w\\nf32[32,1,5,5]\", shape=cylinder"));
  EXPECT_THAT(dot, Not(HasSubstr("cluster")));
  EXPECT_THAT(dot, Not(HasSubstr("_grad")));
  EXPECT_THAT(dot, Not(HasSubstr("Adam")));
  EXPECT_THAT(dot, Not(HasSubstr("labels")));
  // Every edge of the model: conv1 reads rescale, conv1/w and conv1/b.
  int conv1 = *graph.FindNode("conv1");
  for (const char* input : {"rescale", "conv1/w", "conv1/b"}) {
    EXPECT_THAT(dot, HasSubstr(absl::StrCat("  n", *graph.FindNode(input), " -> n",
                                            conv1, ";\n")))
        << input;
  }
}

TEST(GraphToDot, TrainingClustersLossBackwardAndOptimizer) {
  Graph graph = BuildLectureGraph(LectureGraph::kTraining);
  DotOptions options;
  options.training = true;
  options.title = "lecture \"model\"";
  std::string dot = GraphToDot(graph, options);
  EXPECT_THAT(dot, HasSubstr("label=\"lecture \\\"model\\\"\";"));
  for (const char* cluster : {"cluster_loss", "cluster_backward", "cluster_optimizer"}) {
    EXPECT_THAT(dot, HasSubstr(absl::StrCat("subgraph ", cluster, " {")));
  }
  // Gradient nodes have a colour of their own, inside the backward cluster.
  size_t backward = dot.find("subgraph cluster_backward");
  size_t optimizer = dot.find("subgraph cluster_optimizer");
  size_t grad = dot.find("label=\"conv1_grad/dw\\nConv2DBackpropFilter");
  EXPECT_LT(backward, grad);
  EXPECT_LT(grad, optimizer);
  EXPECT_THAT(dot.substr(grad, 200), HasSubstr("fillcolor=\"#fcbba1\""));
  EXPECT_THAT(dot, HasSubstr("label=\"Adam/learning_rate\\nf32[]\\n(read by 8 updates)\""));
  // An update's edge from the variable it overwrites is dashed.
  int var = *graph.FindNode("conv1/w");
  int update = *graph.FindNode("Adam/update/conv1/w");
  EXPECT_THAT(dot, HasSubstr(absl::StrCat("  n", var, " -> n", update,
                                          " [style=dashed")));
  // Second outputs are labelled.
  EXPECT_THAT(dot, HasSubstr("[label=\":1\""));
}

TEST(GraphToDot, QuotesAnyName) {
  GraphBuilder b;
  Output x = b.Placeholder("in \"quoted\" \\ name", {2});
  Output y = Relu(x, "relu\nnewline");
  ASSERT_TRUE(y.valid());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  std::string dot = GraphToDot(graph);
  EXPECT_THAT(dot, HasSubstr("label=\"in \\\"quoted\\\" \\\\ name\\nf32[2]\""));
  EXPECT_THAT(dot, HasSubstr("label=\"relu\\nnewline\\nRelu\\nf32[2]\""));
  EXPECT_THAT(dot, HasSubstr("  n0 -> n1;\n"));
}

}  // namespace
}  // namespace nabla
