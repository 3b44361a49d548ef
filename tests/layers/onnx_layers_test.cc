// ONNX export of issue 12's layers, checked by ONNX's checker with full
// shape inference (Debian's python3-onnx), and by the nodes and attributes
// written. (ONNX Runtime, which tests/onnx runs where tools/setup.sh has
// installed it, is not used here.)

#include <cstdlib>
#include <string>
#include <vector>

#include "core/file.h"
#include "export/onnx.h"
#include "ops/ops.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

using ::nabla::testing::TestDir;

// onnx.checker.check_model(full_check=True), as tests/onnx's
// CheckOnnxModel runs it (whose library is private to tests/onnx).
absl::Status CheckOnnxModel(const std::string& path) {
  std::string command = absl::StrCat(
      "/usr/bin/python3 -c 'import onnx, sys; "
      "onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' ",
      path, " 2>&1");
  if (std::system(command.c_str()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("onnx checker rejects ", path));
  }
  return absl::OkStatus();
}
using ::testing::ElementsAre;

// Exports `outputs`, runs the checker and returns the model.
onnx::ModelProto ExportAndCheck(GraphBuilder& b, const std::vector<Output>& outputs) {
  auto graph = b.Build();
  EXPECT_TRUE(graph.ok()) << graph.status();
  if (!graph.ok()) return {};
  auto session = Session::Create(*std::move(graph));
  EXPECT_TRUE(session.ok()) << session.status();
  if (!session.ok()) return {};
  OnnxExportOptions options;
  for (const Output& out : outputs) options.outputs.push_back(out.name());
  auto model = ExportOnnx(**session, options);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  std::string path = TestDir() + "/model.onnx";
  std::string bytes;
  EXPECT_TRUE(model->SerializeToString(&bytes));
  EXPECT_TRUE(WriteFileAtomically(path, bytes).ok());
  absl::Status checked = CheckOnnxModel(path);
  EXPECT_TRUE(checked.ok()) << checked;
  return *model;
}

const onnx::NodeProto* FindNode(const onnx::ModelProto& model,
                                const std::string& name) {
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.name() == name) return &node;
  }
  ADD_FAILURE() << "no ONNX node " << name;
  return nullptr;
}

std::vector<int64_t> Ints(const onnx::NodeProto& node, const std::string& attr) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == attr) {
      if (a.ints_size() > 0) return {a.ints().begin(), a.ints().end()};
      return {a.i()};
    }
  }
  return {};
}

std::vector<std::string> OpTypes(const onnx::ModelProto& model) {
  std::vector<std::string> types;
  for (const onnx::NodeProto& node : model.graph().node()) types.push_back(node.op_type());
  return types;
}

TEST(OnnxLayersTest, DenseAboveRank2IsMatMulAndAdd) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 5, 4});
  Output w = b.Variable("w", {4, 3}, Initializer::GlorotUniform(1));
  Output bias = b.Variable("b", {3}, Initializer::Zeros());
  Output y = Dense(x, w, bias, Activation::kRelu, "fc");
  onnx::ModelProto model = ExportAndCheck(b, {y});
  EXPECT_THAT(OpTypes(model), ElementsAre("MatMul", "Add", "Relu"));
}

TEST(OnnxLayersTest, PoolingPadsCeilModeAndCountIncludePad) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 2, 8, 8});
  Pool2DOptions o;
  o.kernel = {3, 3};
  o.strides = {2, 2};
  o.padding = "explicit";
  o.explicit_paddings = {1, 0, 2, 1};  // top, bottom, left, right
  o.ceil_mode = true;
  Output m = MaxPool2D(x, o, "max");
  o.ceil_mode = false;
  o.count_include_pad = true;
  Output a = AvgPool2D(x, o, "avg");
  Output g = GlobalAveragePool(x, false, "gap");
  Output gk = GlobalAveragePool(x, true, "gap_keep");
  onnx::ModelProto model = ExportAndCheck(b, {m, a, g, gk});
  const onnx::NodeProto* max = FindNode(model, "max");
  const onnx::NodeProto* avg = FindNode(model, "avg");
  ASSERT_NE(max, nullptr);
  ASSERT_NE(avg, nullptr);
  // ONNX orders pads top, left, bottom, right.
  EXPECT_THAT(Ints(*max, "pads"), ElementsAre(1, 2, 0, 1));
  EXPECT_THAT(Ints(*max, "ceil_mode"), ElementsAre(1));
  EXPECT_THAT(Ints(*avg, "count_include_pad"), ElementsAre(1));
  EXPECT_THAT(Ints(*avg, "ceil_mode"), ElementsAre());
  EXPECT_EQ(FindNode(model, "gap")->op_type(), "Flatten");
  EXPECT_EQ(FindNode(model, "gap/pool")->op_type(), "GlobalAveragePool");
  EXPECT_EQ(FindNode(model, "gap_keep")->op_type(), "GlobalAveragePool");
}

TEST(OnnxLayersTest, GroupedConvAndDropout) {
  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, 4, 6, 6});
  Conv2DOptions o;
  o.groups = 4;
  Output w = b.Variable("w", {8, 1, 3, 3}, Initializer::GlorotUniform(2));
  Output y = Conv2D(x, w, Output(), o, "dw");
  Output d = Dropout(y, 0.5f, 3, "drop");
  onnx::ModelProto model = ExportAndCheck(b, {d});
  const onnx::NodeProto* conv = FindNode(model, "dw");
  ASSERT_NE(conv, nullptr);
  EXPECT_THAT(Ints(*conv, "group"), ElementsAre(4));
  EXPECT_EQ(FindNode(model, "drop")->op_type(), "Identity");
}

}  // namespace
}  // namespace nabla
