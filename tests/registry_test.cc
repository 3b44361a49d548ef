// Every registered op is complete: a shape function, a kernel factory, and
// a gradient rule or an explicit mark (not differentiable, or itself a
// gradient op). Every op with a gradient rule can be differentiated twice in
// one graph, and the second time gives the same values as the first.

#include "graph/op_registry.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/autodiff.h"
#include "graph/builder.h"
#include "absl/strings/str_cat.h"
#include "graph/session.h"
#include "ops/arith.h"
#include "tests/test_util.h"

namespace nabla {
namespace {

TEST(RegistryTest, EveryOpIsComplete) {
  std::vector<const OpSchema*> ops = OpRegistry::Global().All();
  ASSERT_FALSE(ops.empty());
  for (const OpSchema* op : ops) {
    SCOPED_TRACE(op->name());
    EXPECT_TRUE(static_cast<bool>(op->shape_fn())) << "no shape function";
    EXPECT_TRUE(static_cast<bool>(op->kernel_factory())) << "no kernel";
    int marks = static_cast<bool>(op->gradient()) + op->not_differentiable() +
                op->is_gradient_op();
    EXPECT_EQ(marks, 1) << "needs exactly one of a gradient rule, "
                           "NotDifferentiable() or IsGradientOp()";
    EXPECT_FALSE(op->outputs().empty()) << "an op without outputs cannot be run";
    std::set<std::string> attr_names;
    for (const AttrSpec& attr : op->attrs()) {
      EXPECT_TRUE(attr_names.insert(attr.name).second)
          << "attribute " << attr.name << " declared twice";
      if (attr.default_value.has_value()) {
        EXPECT_TRUE(AttrHasType(*attr.default_value, attr.type))
            << "default of " << attr.name << " is not a " << AttrTypeName(attr.type);
      }
    }
    for (int i : op->written_inputs()) {
      EXPECT_LT(i, static_cast<int>(op->inputs().size()));
    }
  }
}

TEST(RegistryTest, TheLectureOpsAreRegistered) {
  for (const char* name :
       {"Placeholder", "Const", "Variable", "Conv2D", "MaxPool2D", "AvgPool2D",
        "Dense", "MatMul", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Identity",
        "Softmax", "LogSoftmax", "SoftmaxCrossEntropy", "CategoricalCrossEntropy",
        "BinaryCrossEntropy", "BinaryCrossEntropyWithLogits", "Flatten",
        "Reshape", "Add", "Sub", "Mul", "Sum", "Mean", "ArgMax", "Accuracy"}) {
    EXPECT_NE(OpRegistry::Global().Find(name), nullptr) << name;
  }
}

// One input of a gradient case: f32 values (random, differentiated with
// respect to) or fixed values of another dtype (labels, data).
struct CaseInput {
  Shape shape;
  DType dtype = DType::kF32;
  std::vector<int64_t> values;  // for integer inputs
  float lo = -1.0f, hi = 1.0f;  // the range of f32 inputs
  // A Variable, not differentiated (an input the op updates in place:
  // BatchNorm's running statistics, f32 from lo..hi; Dropout's counter, a
  // zero i64).
  bool variable = false;
};

// A small, valid use of an op: its inputs and attributes.
struct GradCase {
  std::vector<CaseInput> inputs;
  AttrMap attrs;
};

CaseInput F32(Shape shape, float lo = -1.0f, float hi = 1.0f) {
  return CaseInput{std::move(shape), DType::kF32, {}, lo, hi};
}
CaseInput I32(Shape shape, std::vector<int64_t> values) {
  return CaseInput{std::move(shape), DType::kI32, std::move(values)};
}
CaseInput Var(Shape shape, float lo, float hi) {
  return CaseInput{std::move(shape), DType::kF32, {}, lo, hi, true};
}
CaseInput I64Variable(Shape shape) {
  return CaseInput{std::move(shape), DType::kI64, {}, -1.0f, 1.0f, true};
}

// A case for every op with a gradient rule. An op added with a gradient
// rule and no case here fails GradientsTwiceOnEveryDifferentiableOp.
const std::map<std::string, GradCase>& GradCases() {
  static const auto* cases = new std::map<std::string, GradCase>{
      {"Add", {{F32({2, 3}), F32({3})}}},
      {"Sub", {{F32({2, 3}), F32({2, 1})}}},
      {"Mul", {{F32({2, 3}), F32({3})}}},
      {"Sum", {{F32({2, 3})}, {{"axes", IntsAttr({1})}}}},
      {"Mean", {{F32({2, 3})}, {{"axes", IntsAttr({0})}}}},
      {"ReductionGrad", {{F32({2, 1}), F32({2, 3})}, {{"axes", IntsAttr({1})}}}},
      {"SumTo", {{F32({2, 3})}, {{"shape", ShapeAttr(Shape({1, 3}))}}}},
      {"Cast", {{F32({2, 3})}, {{"scale", FloatAttr(0.5f)}}}},
      {"Relu", {{F32({2, 3})}}},
      {"LeakyRelu", {{F32({2, 3})}}},
      {"Sigmoid", {{F32({2, 3})}}},
      {"Tanh", {{F32({2, 3})}}},
      {"Softmax", {{F32({2, 3})}}},
      {"LogSoftmax", {{F32({2, 3})}}},
      {"Dense",
       {{F32({2, 3}), F32({3, 4}), F32({4})},
        {{"activation", StringAttr("relu")}}}},
      {"MatMul",
       {{F32({3, 2}), F32({4, 3})},
        {{"transpose_a", BoolAttr(true)}, {"transpose_b", BoolAttr(true)}}}},
      {"Conv2D", {{F32({1, 2, 5, 5}), F32({3, 2, 3, 3})}}},
      {"Conv2DWithBias",
       {{F32({1, 2, 5, 5}), F32({3, 2, 3, 3}), F32({3})},
        {{"activation", StringAttr("relu")}}}},
      {"MaxPool2D", {{F32({1, 2, 4, 4})}, {{"kernel", IntsAttr({2, 2})}}}},
      {"AvgPool2D", {{F32({1, 2, 4, 4})}, {{"kernel", IntsAttr({2, 2})}}}},
      {"GlobalAveragePool", {{F32({1, 2, 3, 3})}}},
      {"RowsProduct", {{F32({2, 2, 3}), F32({3, 4})}}},
      {"RowsOuter", {{F32({2, 2, 3}), F32({2, 2, 4})}}},
      {"Dropout",
       {{F32({2, 3}), I64Variable({})},
        {{"rate", FloatAttr(0.25f)}, {"seed", IntAttr(1)}}}},
      {"Reshape", {{F32({2, 3})}, {{"shape", ShapeAttr(Shape({3, 2}))}}}},
      {"Flatten", {{F32({2, 3, 2})}}},
      {"Identity", {{F32({2, 3})}}},
      {"SoftmaxCrossEntropy", {{F32({2, 3}), I32({2}, {2, 0})}}},
      {"CategoricalCrossEntropy",
       {{F32({2, 3}, 0.1f, 0.9f), I32({2}, {1, 2})}}},
      {"BinaryCrossEntropy",
       {{F32({2, 3}, 0.1f, 0.9f), F32({2, 3}, 0.0f, 1.0f)}}},
      {"BinaryCrossEntropyWithLogits", {{F32({2, 3}), F32({2, 3}, 0.0f, 1.0f)}}},
      {"BatchNorm",
       {{F32({3, 2, 2, 2}), F32({2}, 0.5f, 1.5f), F32({2}), Var({2}, -0.5f, 0.5f),
         Var({2}, 0.5f, 1.5f)}}},
  };
  return *cases;
}

Tensor CaseValue(const CaseInput& input, uint64_t seed) {
  if (input.dtype == DType::kF32) {
    return testing::RandomTensor(input.shape, seed, input.lo, input.hi);
  }
  Tensor t(input.dtype, input.shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<int32_t>()[i] = static_cast<int32_t>(input.values[i]);
  }
  return t;
}

// Builds `op` on constant inputs, a loss weighting its first output with
// fixed random values, and the loss's gradients with respect to the f32
// inputs twice; runs both and checks that they agree bit for bit.
void CheckGradientsTwice(const std::string& op, const GradCase& c) {
  GraphBuilder b;
  std::vector<Output> inputs, wrt;
  uint64_t seed = 1;
  for (const CaseInput& input : c.inputs) {
    if (input.variable) {
      if (input.dtype == DType::kF32) {
        inputs.push_back(b.Variable(absl::StrCat("variable", seed),
                                    input.shape,
                                    Initializer::Value(CaseValue(input, seed))));
      } else {
        inputs.push_back(b.Variable(absl::StrCat("variable", seed),
                                    input.shape, Initializer::Zeros(),
                                    input.dtype));
      }
      ++seed;
      continue;
    }
    inputs.push_back(b.Constant(CaseValue(input, seed++)));
    if (input.dtype == DType::kF32) wrt.push_back(inputs.back());
  }
  std::vector<Output> outputs = b.AddOp(op, inputs, c.attrs);
  NABLA_ASSERT_OK(b.status());
  ASSERT_FALSE(outputs.empty());
  Output y = outputs[0];
  ASSERT_TRUE(y.spec().shape.IsFullyDefined());
  Output weights = b.Constant(CaseValue(F32(y.spec().shape), 99));
  Output loss = Sum(Mul(y, weights), {}, false, "loss");
  NABLA_ASSERT_OK(b.status());

  absl::StatusOr<std::vector<Output>> first = Gradients(loss, wrt);
  NABLA_ASSERT_OK(first.status());
  absl::StatusOr<std::vector<Output>> second = Gradients(loss, wrt);
  NABLA_ASSERT_OK(second.status());
  ASSERT_EQ(first->size(), wrt.size());
  ASSERT_EQ(second->size(), wrt.size());

  NABLA_ASSERT_OK_AND_ASSIGN(Graph graph, b.Build());
  NABLA_ASSERT_OK_AND_ASSIGN(auto session, Session::Create(std::move(graph)));
  std::vector<NodeOutput> fetches;
  for (const Output& g : *first) fetches.push_back(g.ref());
  for (const Output& g : *second) fetches.push_back(g.ref());
  NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> values,
                             session->Run({}, fetches));
  bool any_nonzero = false;
  for (size_t i = 0; i < wrt.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("gradient ", i));
    const Tensor& a = values[i];
    const Tensor& again = values[wrt.size() + i];
    EXPECT_EQ(a.shape(), wrt[i].spec().shape);
    EXPECT_TRUE(a.BitwiseEquals(again))
        << a.DebugString() << " vs " << again.DebugString();
    for (float v : a.flat<float>()) any_nonzero |= v != 0.0f;
  }
  // Guards against a vacuous comparison of zeros.
  EXPECT_TRUE(any_nonzero) << "every gradient is zero";
}

TEST(RegistryTest, GradientsTwiceOnEveryDifferentiableOp) {
  int checked = 0;
  for (const OpSchema* op : OpRegistry::Global().All()) {
    if (!op->gradient()) continue;
    SCOPED_TRACE(op->name());
    auto it = GradCases().find(op->name());
    if (it == GradCases().end()) {
      ADD_FAILURE() << op->name()
                    << " has a gradient rule but no case in GradCases()";
      continue;
    }
    CheckGradientsTwice(op->name(), it->second);
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(GradCases().size()))
      << "GradCases() names ops that are not registered with a gradient";
}

}  // namespace
}  // namespace nabla
