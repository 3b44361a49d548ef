// Reshape, Flatten and Identity: views that share their input's buffer.

#include "ops/shape_ops.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// Resolves a reshape target against the input shape; the result keeps one
// unknown dimension when the input's size is not yet known.
absl::StatusOr<Shape> ResolveReshape(const Shape& in, const Shape& target) {
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < target.rank(); ++i) {
    if (target[i] == kUnknownDim) {
      if (unknown >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "reshape target ", target.ToString(),
            " has more than one unknown dimension"));
      }
      unknown = i;
    } else {
      known *= target[i];
    }
  }
  int64_t total = in.NumElements();
  if (total < 0) {
    // The input's size is known only when the graph runs.
    if (unknown < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot reshape ", in.ToString(), " to the fixed shape ",
          target.ToString()));
    }
    return target;
  }
  if (unknown < 0) {
    if (known != total) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot reshape ", in.ToString(), " (", total, " elements) to ",
          target.ToString(), " (", known, ")"));
    }
    return target;
  }
  if (known == 0 || total % known != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot reshape ", in.ToString(), " (", total, " elements) to ",
        target.ToString()));
  }
  return target.WithDim(unknown, total / known);
}

// Output 0 is input 0 seen with the compiled output shape.
KernelFactory ViewKernel() {
  return [](const KernelContext& c) -> absl::StatusOr<std::unique_ptr<Kernel>> {
    Shape shape = c.output_shape(0);
    return FunctionKernel([shape](const KernelArgs& args) {
      args.output(0) = args.input(0).Reshaped(shape);
      return absl::OkStatus();
    })(c);
  };
}

// The gradient of a view is dy seen with x's shape.
GradResult ReshapeBack(const GradContext& g) {
  Shape shape = g.x_spec(0).shape;
  // At most one dimension of x can be unknown here, the batch.
  return std::vector<Output>{Reshape(
      g.dy(0), shape, g.builder()->UniqueName(g.GradName("reshape")))};
}

NABLA_REGISTER_OP(
    OpSchema("Reshape")
        .Input("x", {DType::kF32, DType::kI32, DType::kI64})
        .Output("y")
        .Attr("shape", AttrType::kShape)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_ASSIGN_OR_RETURN(
              Shape out, ResolveReshape(c.input_shape(0), c.GetShape("shape")));
          return std::vector<TensorSpec>{{c.input(0).dtype, out}};
        })
        .SetKernel(ViewKernel())
        .SetKernelSetsOutputs()
        .SetGradient(ReshapeBack));

NABLA_REGISTER_OP(
    OpSchema("Flatten")
        .Input("x", {DType::kF32, DType::kI32, DType::kI64})
        .Output("y")
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          const Shape& in = c.input_shape(0);
          if (in.rank() < 1) {
            return absl::InvalidArgumentError("cannot flatten a scalar");
          }
          int64_t rest = 1;
          for (int i = 1; i < in.rank(); ++i) {
            if (in[i] == kUnknownDim) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "only the batch dimension of ", in.ToString(),
                  " may be unknown"));
            }
            rest *= in[i];
          }
          return std::vector<TensorSpec>{{c.input(0).dtype, Shape({in[0], rest})}};
        })
        .SetKernel(ViewKernel())
        .SetKernelSetsOutputs()
        .SetGradient(ReshapeBack));

NABLA_REGISTER_OP(
    OpSchema("Identity")
        .Input("x", {DType::kF32, DType::kI32, DType::kI64})
        .Output("y")
        .SetShapeFn(SameAsInput(0))
        .SetKernel(ViewKernel())
        .SetKernelSetsOutputs()
        .SetGradient([](const GradContext& g) -> GradResult {
          return std::vector<Output>{g.dy(0)};
        }));

}  // namespace

Output Reshape(Output x, const Shape& shape, absl::string_view name) {
  return MakeOp("Reshape", {x}, {{"shape", ShapeAttr(shape)}}, name);
}
Output Flatten(Output x, absl::string_view name) {
  return MakeOp("Flatten", {x}, {}, name);
}
Output Identity(Output x, absl::string_view name) {
  return MakeOp("Identity", {x}, {}, name);
}

}  // namespace nabla
