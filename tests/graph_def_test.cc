// GraphDef: lossless round trips in binary and text format, and a specific
// error for each way a serialized graph can be malformed.

#include "graph/graph_def.h"

#include <cstdio>
#include <fstream>

#include "google/protobuf/text_format.h"
#include "core/file.h"
#include "graph/builder.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::testing::HasSubstr;

Graph SmallModel() {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4});
  Output w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(11));
  Output bias = b.Variable("b", {3}, Initializer::Constant(0.5f));
  Output h = Dense(x, w, bias, Activation::kRelu, "dense");
  Output scale = b.Constant(*Tensor::FromVector<float>({3}, {1, -2, 3}), "scale");
  Mean(Mul(h, scale), {1}, false, "out");
  return *b.Build();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

void ExpectSameGraph(const Graph& a, const Graph& b) {
  ASSERT_EQ(a.num_nodes(), b.num_nodes());
  for (int i = 0; i < a.num_nodes(); ++i) {
    EXPECT_EQ(a.node(i).name, b.node(i).name);
    EXPECT_EQ(a.node(i).op(), b.node(i).op());
    EXPECT_EQ(a.node(i).outputs.size(), b.node(i).outputs.size());
    for (size_t k = 0; k < a.node(i).outputs.size(); ++k) {
      EXPECT_EQ(a.node(i).outputs[k], b.node(i).outputs[k]);
    }
  }
  EXPECT_EQ(SerializeDeterministically(ToGraphDef(a)),
            SerializeDeterministically(ToGraphDef(b)));
}

TEST(GraphDefTest, RoundTripsInMemory) {
  Graph g = SmallModel();
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, FromGraphDef(ToGraphDef(g)));
  ExpectSameGraph(g, loaded);
}

TEST(GraphDefTest, RoundTripsThroughBinaryAndTextFiles) {
  Graph g = SmallModel();
  for (const char* name : {"model.pb", "model.pbtxt"}) {
    std::string path = TempPath(name);
    NABLA_ASSERT_OK(SaveGraph(g, path));
    NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, LoadGraph(path));
    ExpectSameGraph(g, loaded);
  }
  // The text file is readable text naming the ops.
  NABLA_ASSERT_OK_AND_ASSIGN(std::string text, ReadFile(TempPath("model.pbtxt")));
  EXPECT_THAT(text, HasSubstr("op: \"Dense\""));
  EXPECT_THAT(text, HasSubstr("s: \"relu\""));
}

TEST(GraphDefTest, LoadedGraphComputesTheSameValues) {
  Graph g = SmallModel();
  NABLA_ASSERT_OK_AND_ASSIGN(Graph loaded, FromGraphDef(ToGraphDef(g)));
  Tensor x = testing::RandomTensor({5, 4}, 3);
  std::vector<Tensor> results;
  for (const Graph* graph : {&g, &loaded}) {
    NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(*graph));
    NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput in, graph->FindOutput("x"));
    NABLA_ASSERT_OK_AND_ASSIGN(NodeOutput out, graph->FindOutput("out"));
    NABLA_ASSERT_OK_AND_ASSIGN(auto values, session->Run({{in, x}}, {out}));
    results.push_back(values[0]);
  }
  EXPECT_TRUE(results[0].BitwiseEquals(results[1]));
}

TEST(GraphDefTest, LoadsNodesListedOutOfOrder) {
  proto::GraphDef def = ToGraphDef(SmallModel());
  std::reverse(def.mutable_node()->begin(), def.mutable_node()->end());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph g, FromGraphDef(def));
  EXPECT_EQ(g.num_nodes(), def.node_size());
}

// Each malformed GraphDef, as text, and the error it must give.
struct MalformedCase {
  const char* name;
  const char* text;
  absl::StatusCode code;
  const char* message;
};

const MalformedCase kMalformed[] = {
    {"UnknownOp",
     R"(version: 1 node { name: "a" op: "Frobnicate" })",
     absl::StatusCode::kNotFound, "Frobnicate node 'a'"},
    {"MissingAttr",
     R"(version: 1 node { name: "x" op: "Placeholder" })",
     absl::StatusCode::kInvalidArgument, "missing required attribute 'shape'"},
    {"IllTypedAttr",
     R"(version: 1 node { name: "x" op: "Placeholder"
          attr { key: "shape" value { i: 3 } } })",
     absl::StatusCode::kInvalidArgument, "attribute 'shape' must be shape"},
    {"DanglingInput",
     R"(version: 1 node { name: "r" op: "Relu" input: "ghost" })",
     absl::StatusCode::kInvalidArgument, "no node is named 'ghost'"},
    {"BadOutputIndex",
     R"(version: 1
        node { name: "x" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } } }
        node { name: "r" op: "Relu" input: "x:4" })",
     absl::StatusCode::kInvalidArgument, "reads output 4 of 'x'"},
    {"MalformedInput",
     R"(version: 1 node { name: "r" op: "Relu" input: "x:abc" })",
     absl::StatusCode::kInvalidArgument, "malformed input 'x:abc'"},
    {"Cycle",
     R"(version: 1
        node { name: "a" op: "Relu" input: "b" }
        node { name: "b" op: "Relu" input: "a" })",
     absl::StatusCode::kInvalidArgument, "cycle through node"},
    {"DuplicateName",
     R"(version: 1
        node { name: "x" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } } }
        node { name: "x" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } } })",
     absl::StatusCode::kInvalidArgument, "two nodes named 'x'"},
    {"ShapesDoNotInfer",
     R"(version: 1
        node { name: "a" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 dim: 3 } } } }
        node { name: "b" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 4 dim: 5 } } } }
        node { name: "m" op: "MatMul" input: "a" input: "b" })",
     absl::StatusCode::kInvalidArgument, "inner dimensions differ: 3 and 4"},
    {"AbsurdSize",
     R"(version: 1 node { name: "x" op: "Placeholder"
          attr { key: "shape" value { shape { dim: 4000000000 dim: 4000000000 } } } })",
     absl::StatusCode::kInvalidArgument, "more than"},
    {"NegativeDim",
     R"(version: 1 node { name: "x" op: "Placeholder"
          attr { key: "shape" value { shape { dim: -7 } } } })",
     absl::StatusCode::kInvalidArgument, "negative dimension"},
    {"TensorBytesMismatch",
     R"(version: 1 node { name: "c" op: "Const"
          attr { key: "value" value { tensor { dtype: DT_FLOAT dims: 4 content: "abc" } } } })",
     absl::StatusCode::kInvalidArgument, "needs 16 bytes but has 3"},
    {"HugeConstant",
     R"(version: 1 node { name: "c" op: "Const"
          attr { key: "value" value { tensor { dtype: DT_FLOAT dims: 100000000000 } } } })",
     absl::StatusCode::kInvalidArgument, "more than"},
    {"WrongInputDtype",
     R"(version: 1
        node { name: "l" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } }
               attr { key: "dtype" value { type: DT_INT32 } } }
        node { name: "r" op: "Relu" input: "l" })",
     absl::StatusCode::kInvalidArgument, "input 'x' must be f32, got i32"},
    {"FutureVersion",
     R"(version: 99)",
     absl::StatusCode::kInvalidArgument, "version 99 is not supported"},
    {"MissingVersion",
     R"(node { name: "x" op: "Placeholder" })",
     absl::StatusCode::kInvalidArgument, "version 0 is not supported"},
    {"WriteToNonVariable",
     R"(version: 1
        node { name: "x" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } } }
        node { name: "g" op: "Placeholder"
               attr { key: "shape" value { shape { dim: 2 } } } }
        node { name: "lr" op: "Placeholder"
               attr { key: "shape" value { shape { } } } }
        node { name: "u" op: "ApplySgd" input: "x" input: "g" input: "lr" })",
     absl::StatusCode::kInvalidArgument, "must be a Variable"},
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class MalformedGraphDefTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedGraphDefTest, GivesSpecificError) {
  proto::GraphDef def;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(GetParam().text, &def));
  EXPECT_THAT(FromGraphDef(def),
              StatusIs(GetParam().code, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    All, MalformedGraphDefTest, ::testing::ValuesIn(kMalformed),
    [](const ::testing::TestParamInfo<MalformedCase>& info) {
      return std::string(info.param.name);
    });

TEST(GraphDefTest, ConfigurableSizeCap) {
  proto::GraphDef def = ToGraphDef(SmallModel());
  EXPECT_THAT(FromGraphDef(def, GraphOptions{/*max_elements=*/5}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 5 elements")));
}

TEST(GraphDefTest, FileErrors) {
  EXPECT_THAT(LoadGraph(TempPath("does-not-exist.pb")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cannot open")));
  std::string garbage = TempPath("garbage.pbtxt");
  std::ofstream(garbage) << "this is { not a graph";
  EXPECT_THAT(LoadGraph(garbage), StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("is not a text GraphDef")));
  std::string binary_garbage = TempPath("garbage.pb");
  std::ofstream(binary_garbage) << "\xff\xff\xff\xff";
  EXPECT_THAT(LoadGraph(binary_garbage),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not a binary GraphDef")));
}

TEST(GraphDefTest, SaveLeavesNoTemporaryFile) {
  std::string path = TempPath("atomic.pb");
  NABLA_ASSERT_OK(SaveGraph(SmallModel(), path));
  std::ifstream temp(path + ".tmp." + std::to_string(getpid()));
  EXPECT_FALSE(temp.good());
}

}  // namespace
}  // namespace nabla
