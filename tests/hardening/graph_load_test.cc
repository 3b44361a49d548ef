// Loading graphs from hostile files: nothing a file claims is allocated
// before it is checked, and every refusal names what was wrong.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "core/file.h"
#include "graph/builder.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "graph/variables.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::StatusIs;
using ::nabla::testing::TestDir;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Write(const std::string& name, const std::string& contents) {
  std::string path = TestDir() + "/" + name;
  EXPECT_TRUE(WriteFileAtomically(path, contents).ok());
  return path;
}

TEST(GraphLoadTest, EmptyFileSaysSo) {
  EXPECT_THAT(LoadGraph(Write("empty.pbtxt", "")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is an empty graph file (no bytes)")));
  EXPECT_THAT(LoadGraph(Write("blank.pbtxt", " \n\t\n")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is an empty graph file (only whitespace)")));
  EXPECT_THAT(LoadGraph(Write("empty.pb", "")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("empty graph file")));
  EXPECT_THAT(FromGraphDef(proto::GraphDef()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("empty GraphDef")));
}

TEST(GraphLoadTest, FifoDirectoryAndDevZeroAreRefused) {
  std::string fifo = TestDir() + "/model.pbtxt";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_THAT(LoadGraph(fifo), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("is a FIFO")));
  EXPECT_THAT(LoadGraph(TestDir()), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("is a directory")));
  std::string zero = TestDir() + "/zero.pbtxt";
  ASSERT_EQ(::symlink("/dev/zero", zero.c_str()), 0);
  EXPECT_THAT(LoadGraph(zero), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("character device")));
}

TEST(GraphLoadTest, FileOverTheCapIsRefusedBeforeParsing) {
  // A 3 GiB sparse text graph once crashed libprotobuf's parser.
  std::string path = TestDir() + "/huge.pbtxt";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, int64_t{3} << 30), 0);
  ::close(fd);
  EXPECT_THAT(LoadGraph(path),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("more than the limit of 268435456 bytes")));
  // A raised cap is still held below what libprotobuf parses safely.
  GraphLoadOptions options;
  options.max_file_bytes = int64_t{8} << 30;
  EXPECT_THAT(LoadGraph(path, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("more than the limit of 1073741824 bytes")));
  // And a cap can be lowered.
  std::string small = Write(
      "small.pbtxt", R"(version: 1 node { name: "x" op: "Placeholder"
          attr { key: "shape" value { shape { dim: 2 } } } })");
  NABLA_ASSERT_OK(LoadGraph(small).status());
  options.max_file_bytes = 10;
  EXPECT_THAT(LoadGraph(small, options),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("the limit of 10 bytes")));
}

TEST(GraphLoadTest, TensorWhoseDimsLieIsRefusedBeforeAllocating) {
  // 65536 x 65536 floats would be 16 GiB; the content holds 4 bytes.
  EXPECT_THAT(
      LoadGraph(Write("lying_const.pbtxt", R"(version: 1
          node { name: "c" op: "Const" attr { key: "value" value { tensor {
            dtype: DT_FLOAT dims: 65536 dims: 65536 content: "abcd" } } } })")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("node 'c'"),
                     HasSubstr("needs 17179869184 bytes but has 4"))));
  EXPECT_THAT(
      LoadGraph(Write("lying_init.pbtxt", R"(version: 1
          node { name: "v" op: "Variable"
            attr { key: "shape" value { shape { dim: 2 } } }
            attr { key: "initializer" value { s: "value" } }
            attr { key: "value" value { tensor {
              dtype: DT_FLOAT dims: 65536 dims: 65536 content: "abcd" } } } })")),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("node 'v'"),
                     HasSubstr("needs 17179869184 bytes but has 4"))));
  // 2^62 elements pass an unlimited element cap, but their bytes overflow.
  proto::TensorProto t;
  t.set_dtype(proto::DT_FLOAT);
  t.add_dims(int64_t{1} << 61);
  t.add_dims(2);
  EXPECT_THAT(TensorFromProto(t, std::numeric_limits<int64_t>::max()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("needs more bytes than a file can hold")));
}

constexpr char kBigUnusedVariable[] = R"(version: 1
    node { name: "x" op: "Placeholder" attr { key: "shape" value { shape { dim: 2 } } } }
    node { name: "unused" op: "Variable"
      attr { key: "shape" value { shape { dim: 65536 dim: 65536 } } } })";

TEST(GraphLoadTest, BigUnusedVariableIsRefusedAtLoad) {
  EXPECT_THAT(
      LoadGraph(Write("big.pbtxt", kBigUnusedVariable)),
      StatusIs(absl::StatusCode::kResourceExhausted,
               AllOf(HasSubstr("Variable node 'unused' needs 17179869184 bytes"),
                     HasSubstr("limit of 4294967296 bytes"),
                     HasSubstr("max_variable_bytes"))));
}

TEST(GraphLoadTest, BigUnusedVariableIsRefusedBySessionCreate) {
  GraphBuilder b;
  b.Placeholder("x", Shape({2}));
  b.Variable("unused", Shape({65536, 65536}), Initializer::Zeros());
  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  EXPECT_THAT(
      Session::Create(std::move(graph)),
      StatusIs(absl::StatusCode::kResourceExhausted,
               AllOf(HasSubstr("Variable node 'unused' (f32[65536,65536]) "
                               "needs 17179869184 bytes"),
                     HasSubstr("limit of 4294967296 bytes"))));
}

TEST(GraphLoadTest, VariableAndConstantCapsAreExactAndConfigurable) {
  GraphOptions options;
  options.max_variable_bytes = 40 + 8;  // f32[10] and i64[]
  {
    GraphBuilder b(options);
    b.Variable("w", Shape({10}), Initializer::Zeros());
    b.Variable("n", Shape(), Initializer::Zeros(), DType::kI64);
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    NABLA_ASSERT_OK(Session::Create(graph).status());
    NABLA_ASSERT_OK(FromGraphDef(ToGraphDef(graph), options).status());
    GraphOptions tighter = options;
    tighter.max_variable_bytes = 47;
    EXPECT_THAT(FromGraphDef(ToGraphDef(graph), tighter),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         AllOf(HasSubstr("Variable node 'n' needs 8 bytes"),
                               HasSubstr("limit of 47 bytes"),
                               HasSubstr("40 bytes are taken"))));
    GraphBuilder tight(tighter);
    tight.Variable("w", Shape({10}), Initializer::Zeros());
    tight.Variable("n", Shape(), Initializer::Zeros(), DType::kI64);
    NABLA_ASSERT_OK_AND_ASSIGN(Graph tight_graph, tight.Build());
    EXPECT_THAT(Session::Create(std::move(tight_graph)),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr("Variable node 'n' (i64[]) needs 8 bytes")));
  }
  {
    GraphBuilder b;
    b.Constant(Tensor::Filled<float>(Shape({4}), 1.0f), "c1");
    b.Constant(Tensor::Filled<float>(Shape({4}), 2.0f), "c2");
    NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
    GraphOptions constants;
    constants.max_constant_bytes = 32;
    NABLA_ASSERT_OK(FromGraphDef(ToGraphDef(graph), constants).status());
    constants.max_constant_bytes = 31;
    EXPECT_THAT(FromGraphDef(ToGraphDef(graph), constants),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         AllOf(HasSubstr("Const node 'c2'"),
                               HasSubstr("to 32 bytes, more than the limit of 31"),
                               HasSubstr("max_constant_bytes"))));
  }
}

}  // namespace
}  // namespace nabla
