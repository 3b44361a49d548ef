// Every registered op is complete: a shape function, a kernel factory, and
// a gradient rule or an explicit mark (not differentiable, or itself a
// gradient op).

#include "graph/op_registry.h"

#include <set>

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

}  // namespace
}  // namespace nabla
