// Softmax, LogSoftmax and their gradient ops.

#include "ops/softmax.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// The tensor as oneDNN sees it. oneDNN 2.6 JIT-compiles the forward pass
// only when the softmax axis is the innermost one of a dense layout, so the
// common case (the last axis, any rank) is collapsed to [outer, C]; other
// axes become [outer, C, inner], which the generic implementation handles.
// Collapsing also lets every rank share one code path.
struct SoftmaxView {
  dnnl::memory::desc desc;
  int axis = 1;
};

SoftmaxView ViewFor(const Shape& shape, int axis) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (int i = axis + 1; i < shape.rank(); ++i) inner *= shape[i];
  if (inner == 1) return {PlainDesc(Shape({outer, shape[axis]})), 1};
  return {PlainDesc(Shape({outer, shape[axis], inner})), 1};
}

// Fwd is dnnl::softmax_forward or dnnl::logsoftmax_forward, which share
// their interface.
template <typename Fwd>
absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxForwardKernel(
    const KernelContext& c) {
  const Shape& shape = c.input_shape(0);
  if (shape.NumElements() == 0) return EmptyKernel();
  NABLA_ASSIGN_OR_RETURN(int axis, ResolveAxis(c.GetInt("axis"), shape.rank()));
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) {
    SoftmaxView view = ViewFor(shape, axis);
    typename Fwd::desc d(dnnl::prop_kind::forward_inference, view.desc,
                         view.axis);
    typename Fwd::primitive_desc pd(d, KernelAttr(), CpuEngine());
    k.AddInput(DNNL_ARG_SRC, 0, view.desc);
    k.AddOutput(DNNL_ARG_DST, 0, view.desc);
    k.SetPrimitive(Fwd(pd), pd);
    return absl::OkStatus();
  });
}

// Inputs: dy, y. The forward primitive descriptor is made only as the
// backward's hint and never executed. oneDNN 2.6 has a JIT backward only
// for AVX-512, so on AVX2 machines this runs its reference implementation;
// that is accepted here (unlike in convolutions) because a softmax backward
// touches N*C elements once, a vanishing share of a training step.
template <typename Fwd, typename Bwd>
absl::StatusOr<std::unique_ptr<Kernel>> MakeSoftmaxBackwardKernel(
    const KernelContext& c) {
  const Shape& shape = c.output_shape(0);
  if (shape.NumElements() == 0) return EmptyKernel();
  NABLA_ASSIGN_OR_RETURN(int axis, ResolveAxis(c.GetInt("axis"), shape.rank()));
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) {
    SoftmaxView view = ViewFor(shape, axis);
    typename Fwd::desc fwd(dnnl::prop_kind::forward_training, view.desc,
                           view.axis);
    typename Fwd::primitive_desc fwd_pd(fwd, CpuEngine());
    typename Bwd::desc bwd(view.desc, view.desc, view.axis);
    typename Bwd::primitive_desc pd(bwd, KernelAttr(), CpuEngine(), fwd_pd);
    k.AddInput(DNNL_ARG_DIFF_DST, 0, view.desc);
    k.AddInput(DNNL_ARG_DST, 1, view.desc);
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, view.desc);
    k.SetPrimitive(Bwd(pd), pd);
    return absl::OkStatus();
  });
}

absl::Status CheckAxis(const ShapeContext& c, const Shape& shape,
                       absl::string_view what) {
  if (shape.rank() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must have rank >= 1 to normalize along an axis, got a scalar"));
  }
  return ResolveAxis(c.GetInt("axis"), shape.rank()).status();
}

SpecList SoftmaxShapeFn(const ShapeContext& c) {
  NABLA_RETURN_IF_ERROR(CheckAxis(c, c.input_shape(0), "x"));
  return std::vector<TensorSpec>{c.input(0)};
}

// dy and y must agree; the result takes whichever of their dimensions is
// known, so a gradient keeps a batch size the forward pass fixed.
SpecList SoftmaxGradShapeFn(const ShapeContext& c) {
  const Shape& dy = c.input_shape(0);
  const Shape& y = c.input_shape(1);
  if (!dy.IsCompatibleWith(y)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dy ", dy.ToString(), " and y ", y.ToString(),
        " must have the same shape"));
  }
  NABLA_RETURN_IF_ERROR(CheckAxis(c, y, "y"));
  Shape::Dims dims;
  for (int i = 0; i < y.rank(); ++i) {
    dims.push_back(y[i] == kUnknownDim ? dy[i] : y[i]);
  }
  return std::vector<TensorSpec>{{DType::kF32, Shape(absl::MakeConstSpan(dims))}};
}

template <typename Fwd>
OpSchema SoftmaxOp(const std::string& name) {
  std::string grad_name = name + "Grad";
  return OpSchema(name)
      .Input("x")
      .Output("y")
      .Attr("axis", AttrType::kInt, IntAttr(-1))
      .SetShapeFn(SoftmaxShapeFn)
      .SetKernel(&MakeSoftmaxForwardKernel<Fwd>)
      .SetGradient([grad_name](const GradContext& g) -> GradResult {
        return std::vector<Output>{g.builder()->AddOp1(
            grad_name, {g.dy(0), g.y(0)}, {{"axis", IntAttr(g.GetInt("axis"))}},
            g.builder()->UniqueName(g.GradName(grad_name)))};
      });
}

template <typename Fwd, typename Bwd>
OpSchema SoftmaxGradOp(const std::string& name) {
  return OpSchema(name)
      .Input("dy")
      .Input("y")
      .Output("dx")
      .Attr("axis", AttrType::kInt, IntAttr(-1))
      .SetShapeFn(SoftmaxGradShapeFn)
      .SetKernel(&MakeSoftmaxBackwardKernel<Fwd, Bwd>)
      .IsGradientOp();
}

NABLA_REGISTER_OP(SoftmaxOp<dnnl::softmax_forward>("Softmax"));
NABLA_REGISTER_OP(SoftmaxOp<dnnl::logsoftmax_forward>("LogSoftmax"));
NABLA_REGISTER_OP((SoftmaxGradOp<dnnl::softmax_forward, dnnl::softmax_backward>(
    "SoftmaxGrad")));
NABLA_REGISTER_OP(
    (SoftmaxGradOp<dnnl::logsoftmax_forward, dnnl::logsoftmax_backward>(
        "LogSoftmaxGrad")));

}  // namespace

Output Softmax(Output x, int64_t axis, absl::string_view name) {
  return MakeOp("Softmax", {x}, {{"axis", IntAttr(axis)}}, name);
}
Output LogSoftmax(Output x, int64_t axis, absl::string_view name) {
  return MakeOp("LogSoftmax", {x}, {{"axis", IntAttr(axis)}}, name);
}
Output SoftmaxGrad(Output dy, Output y, int64_t axis, absl::string_view name) {
  return MakeOp("SoftmaxGrad", {dy, y}, {{"axis", IntAttr(axis)}}, name);
}
Output LogSoftmaxGrad(Output dy, Output y, int64_t axis,
                      absl::string_view name) {
  return MakeOp("LogSoftmaxGrad", {dy, y}, {{"axis", IntAttr(axis)}}, name);
}

}  // namespace nabla
