// Relu, Sigmoid, Tanh, LeakyRelu and their gradients.

#include "ops/activations.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using dnnl::algorithm;

// Plain tensors are handed to oneDNN as one flat vector. When an input
// arrives in a blocked layout the op runs in that layout (elementwise ops do
// not care), so that no reorder runs between, say, max pooling's backward
// and ReluGrad; an input in another layout is reordered into it. Of several
// blocked inputs the last one's layout wins: for a gradient (dy, y) that is
// y's, the layout the forward pass chose and the next backward op expects.
dnnl::memory::desc EltwiseDesc(const KernelContext& c) {
  int chosen = -1;
  for (int i = c.num_inputs() - 1; i >= 0 && chosen < 0; --i) {
    if (!c.input_is_plain(i)) chosen = i;
  }
  if (chosen < 0) return PlainDesc(Shape({c.input_shape(0).NumElements()}));
  const Layout layout = c.input_layout(chosen);
  for (int i = 0; i < c.num_inputs(); ++i) c.RequestInputLayout(i, layout);
  c.SetOutputLayout(0, layout);
  return layout;
}

absl::StatusOr<std::unique_ptr<Kernel>> MakeEltwiseForwardKernel(
    const KernelContext& c, algorithm alg, float alpha) {
  if (c.input_shape(0).NumElements() == 0) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) {
    auto desc = EltwiseDesc(c);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg,
                                  desc, alpha, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, KernelAttr(), CpuEngine());
    k.AddInput(DNNL_ARG_SRC, 0, desc);
    k.AddOutput(DNNL_ARG_DST, 0, desc);
    k.SetPrimitive(dnnl::eltwise_forward(pd), pd);
    return absl::OkStatus();
  });
}

// Inputs: dy, y. Uses the *_use_dst_for_bwd algorithm, whose forward
// primitive descriptor serves only as the backward's hint.
absl::StatusOr<std::unique_ptr<Kernel>> MakeEltwiseBackwardKernel(
    const KernelContext& c, algorithm alg, float alpha) {
  if (c.input_shape(0).NumElements() == 0) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) {
    auto desc = EltwiseDesc(c);
    dnnl::eltwise_forward::desc fwd(dnnl::prop_kind::forward_training, alg,
                                    desc, alpha, 0.f);
    dnnl::eltwise_forward::primitive_desc fwd_pd(fwd, CpuEngine());
    dnnl::eltwise_backward::desc bwd(alg, desc, desc, alpha, 0.f);
    dnnl::eltwise_backward::primitive_desc pd(bwd, KernelAttr(), CpuEngine(),
                                              fwd_pd);
    k.AddInput(DNNL_ARG_DIFF_DST, 0, desc);
    k.AddInput(DNNL_ARG_DST, 1, desc);
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, desc);
    k.SetPrimitive(dnnl::eltwise_backward(pd), pd);
    return absl::OkStatus();
  });
}

float AlphaOf(const AttrReader& attrs) {
  return attrs.attrs().count("alpha") ? attrs.GetFloat("alpha") : 0.f;
}

SpecList ActivationShapeFn(const ShapeContext& c) {
  if (c.attrs().count("alpha") && !(c.GetFloat("alpha") >= 0.f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "alpha must be >= 0, got ", c.GetFloat("alpha")));
  }
  return std::vector<TensorSpec>{c.input(0)};
}

SpecList GradShapeFn(const ShapeContext& c) {
  if (c.input(0).shape.rank() != c.input(1).shape.rank() ||
      !c.input(0).shape.IsCompatibleWith(c.input(1).shape)) {
    return absl::InvalidArgumentError("dy and y must have the same shape");
  }
  return ActivationShapeFn(c);
}

// One activation: the forward op `name` on `forward_alg`, and its gradient
// op `name`Grad on the dst-based backward algorithm.
void RegisterActivation(const std::string& name, algorithm forward_alg,
                        algorithm backward_alg, bool has_alpha) {
  std::string grad_name = name + "Grad";
  OpSchema forward(name);
  forward.Input("x").Output("y").SetShapeFn(ActivationShapeFn);
  OpSchema backward(grad_name);
  backward.Input("dy").Input("y").Output("dx").SetShapeFn(GradShapeFn);
  if (has_alpha) {
    forward.Attr("alpha", AttrType::kFloat, FloatAttr(0.2f));
    backward.Attr("alpha", AttrType::kFloat, FloatAttr(0.2f));
  }
  forward.SetKernel([forward_alg](const KernelContext& c) {
    return MakeEltwiseForwardKernel(c, forward_alg, AlphaOf(c));
  });
  forward.SetGradient([grad_name, has_alpha](const GradContext& g) -> GradResult {
    AttrMap attrs;
    if (has_alpha) attrs["alpha"] = FloatAttr(g.GetFloat("alpha"));
    return std::vector<Output>{g.builder()->AddOp1(
        grad_name, {g.dy(0), g.y(0)}, std::move(attrs),
        g.builder()->UniqueName(g.GradName(grad_name)))};
  });
  backward.SetKernel([backward_alg](const KernelContext& c) {
    return MakeEltwiseBackwardKernel(c, backward_alg, AlphaOf(c));
  });
  backward.IsGradientOp();
  OpRegistry::Global().Register(std::move(forward));
  OpRegistry::Global().Register(std::move(backward));
}

const bool kRegistered = [] {
  RegisterActivation("Relu", algorithm::eltwise_relu,
                     algorithm::eltwise_relu_use_dst_for_bwd, false);
  RegisterActivation("LeakyRelu", algorithm::eltwise_relu,
                     algorithm::eltwise_relu_use_dst_for_bwd, true);
  RegisterActivation("Sigmoid", algorithm::eltwise_logistic,
                     algorithm::eltwise_logistic_use_dst_for_bwd, false);
  RegisterActivation("Tanh", algorithm::eltwise_tanh,
                     algorithm::eltwise_tanh_use_dst_for_bwd, false);
  return true;
}();

}  // namespace

Output Relu(Output x, absl::string_view name) {
  return MakeOp("Relu", {x}, {}, name);
}
Output Sigmoid(Output x, absl::string_view name) {
  return MakeOp("Sigmoid", {x}, {}, name);
}
Output Tanh(Output x, absl::string_view name) {
  return MakeOp("Tanh", {x}, {}, name);
}
Output LeakyRelu(Output x, float alpha, absl::string_view name) {
  return MakeOp("LeakyRelu", {x}, {{"alpha", FloatAttr(alpha)}}, name);
}
Output ReluGrad(Output dy, Output y, absl::string_view name) {
  return MakeOp("ReluGrad", {dy, y}, {}, name);
}
Output SigmoidGrad(Output dy, Output y, absl::string_view name) {
  return MakeOp("SigmoidGrad", {dy, y}, {}, name);
}
Output TanhGrad(Output dy, Output y, absl::string_view name) {
  return MakeOp("TanhGrad", {dy, y}, {}, name);
}
Output LeakyReluGrad(Output dy, Output y, float alpha, absl::string_view name) {
  return MakeOp("LeakyReluGrad", {dy, y}, {{"alpha", FloatAttr(alpha)}}, name);
}

}  // namespace nabla
