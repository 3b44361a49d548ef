// The ops every graph is made from: Placeholder, Const and Variable.

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/initializers.h"
#include "graph/op_registry.h"
#include "graph/variables.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

class ConstKernel : public Kernel {
 public:
  explicit ConstKernel(Tensor value) : value_(std::move(value)) {}
  absl::Status Compute(const KernelArgs& args) override {
    args.output(0) = value_;
    return absl::OkStatus();
  }

 private:
  Tensor value_;
};

NABLA_REGISTER_OP(
    OpSchema("Placeholder")
        .Output("value")
        .Attr("shape", AttrType::kShape)
        .Attr("dtype", AttrType::kDType, DTypeAttr(DType::kF32))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          if (DTypeSize(c.GetDType("dtype")) == 0) {
            return absl::InvalidArgumentError("invalid dtype");
          }
          return std::vector<TensorSpec>{
              {c.GetDType("dtype"), c.GetShape("shape")}};
        })
        // The executor binds fed tensors itself; this kernel never runs.
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return absl::InvalidArgumentError(
              absl::StrCat("placeholder '", c.node_name(), "' must be fed"));
        })
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("Const")
        .Output("value")
        .Attr("value", AttrType::kTensor)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          Tensor value = c.GetTensor("value");
          return std::vector<TensorSpec>{{value.dtype(), value.shape()}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          return std::make_unique<ConstKernel>(c.GetTensor("value"));
        })
        .SetKernelSetsOutputs()
        .NotDifferentiable());

NABLA_REGISTER_OP(
    OpSchema("Variable")
        .Output("value")
        .Attr("shape", AttrType::kShape)
        .Attr("dtype", AttrType::kDType, DTypeAttr(DType::kF32))
        .Attr("initializer", AttrType::kString, StringAttr("zeros"))
        .Attr("init_value", AttrType::kFloat, FloatAttr(0))
        .Attr("seed", AttrType::kInt, IntAttr(0))
        .Attr("value", AttrType::kTensor, TensorAttr(Tensor::Scalar(0)))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          Shape shape = c.GetShape("shape");
          DType dtype = c.GetDType("dtype");
          if (!shape.IsFullyDefined()) {
            return absl::InvalidArgumentError(absl::StrCat(
                "variable shape ", shape.ToString(), " must be fully defined"));
          }
          if (!IsKnownInitializer(c.GetString("initializer"))) {
            return absl::InvalidArgumentError(absl::StrCat(
                "unknown initializer '", c.GetString("initializer"), "'"));
          }
          if (c.GetString("initializer") == "value") {
            Tensor value = c.GetTensor("value");
            if (value.shape() != shape || value.dtype() != dtype) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "initial value ", value.DebugString(),
                  " does not match the variable's ", DTypeName(dtype),
                  shape.ToString()));
            }
          }
          return std::vector<TensorSpec>{{dtype, shape}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          const Tensor* value = c.variables()->Find(c.node_name());
          if (value == nullptr) {
            return absl::InternalError(absl::StrCat(
                "variable '", c.node_name(), "' has no value in the session"));
          }
          return std::make_unique<ConstKernel>(*value);
        })
        .SetKernelSetsOutputs()
        .NotDifferentiable());

}  // namespace
}  // namespace nabla
