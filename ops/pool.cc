// MaxPool2D, AvgPool2D and their gradient ops MaxPool2DGrad and
// AvgPool2DGrad.
//
// The kernels run in a layout oneDNN's JIT pooling kernels take (see
// PoolTag), which a convolution's output already has.

#include "ops/pool.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using KernelOr = absl::StatusOr<std::unique_ptr<Kernel>>;

constexpr char kValid[] = "valid";
constexpr char kSame[] = "same";
constexpr char kExplicit[] = "explicit";

// oneDNN records each window's maximum as a u8 offset while the window has
// at most this many pixels, and as an s32 beyond.
constexpr int64_t kMaxU8WindowPixels = 255;

// The attributes of a pooling op, checked.
struct PoolAttrs {
  int64_t kernel[2];
  int64_t strides[2];
  bool same = false;
  bool explicit_padding = false;
  int64_t explicit_paddings[4] = {0, 0, 0, 0};  // top, bottom, left, right
  bool ceil_mode = false;
  // Average pooling only: the padding counts in each window's divisor.
  bool count_include_pad = false;

  DType WorkspaceType() const {
    return kernel[0] * kernel[1] <= kMaxU8WindowPixels ? DType::kU8
                                                       : DType::kI32;
  }
};

absl::StatusOr<PoolAttrs> ReadPoolAttrs(const AttrReader& attrs) {
  PoolAttrs pool;
  std::vector<int64_t> kernel = attrs.GetInts("kernel");
  if (kernel.size() != 2 || kernel[0] < 1 || kernel[1] < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("kernel must be two positive integers, got [",
                     absl::StrJoin(kernel, ","), "]"));
  }
  std::vector<int64_t> strides = attrs.GetInts("strides");
  if (strides.empty()) strides = kernel;
  if (strides.size() != 2 || strides[0] < 1 || strides[1] < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "strides must be two positive integers (or none, for the kernel "
        "size), got [",
        absl::StrJoin(strides, ","), "]"));
  }
  const std::string& padding = attrs.GetString("padding");
  if (padding != kValid && padding != kSame && padding != kExplicit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "padding must be \"valid\", \"same\" or \"explicit\", got \"",
        padding, "\""));
  }
  for (int i = 0; i < 2; ++i) {
    pool.kernel[i] = kernel[i];
    pool.strides[i] = strides[i];
  }
  pool.same = padding == kSame;
  pool.explicit_padding = padding == kExplicit;
  std::vector<int64_t> pads = attrs.GetInts("explicit_paddings");
  if (padding == kExplicit) {
    // A pad as wide as the window would let a window hold no input pixel.
    bool ok = pads.size() == 4;
    for (int i = 0; ok && i < 4; ++i) {
      ok = pads[i] >= 0 && pads[i] < kernel[i / 2];
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "padding \"explicit\" needs explicit_paddings of four integers "
          "(top, bottom, left, right), each >= 0 and smaller than the "
          "kernel's size on its axis, got [",
          absl::StrJoin(pads, ","), "] for kernel [",
          absl::StrJoin(kernel, ","), "]"));
    }
    for (int i = 0; i < 4; ++i) pool.explicit_paddings[i] = pads[i];
  } else if (!pads.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "explicit_paddings are given only with padding \"explicit\", not \"",
        padding, "\""));
  }
  pool.ceil_mode = attrs.GetBool("ceil_mode");
  if (pool.ceil_mode && pool.same) {
    return absl::InvalidArgumentError(
        "ceil_mode applies to padding \"valid\" or \"explicit\"; \"same\" "
        "already rounds the output size up");
  }
  if (attrs.attrs().count("count_include_pad")) {
    pool.count_include_pad = attrs.GetBool("count_include_pad");
  }
  return pool;
}

// One spatial dimension of a pooling: its output size and the padding on
// either side.
struct SpatialDim {
  int64_t out = kUnknownDim;
  int64_t pad_before = 0;
  int64_t pad_after = 0;
};

// `axis` is 0 for the height, 1 for the width.
absl::StatusOr<SpatialDim> PoolOutputDim(const PoolAttrs& pool, int axis,
                                         int64_t in) {
  SpatialDim dim;
  if (in == kUnknownDim) return dim;
  const int64_t kernel = pool.kernel[axis];
  const int64_t stride = pool.strides[axis];
  if (pool.same) {
    dim.out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>((dim.out - 1) * stride + kernel - in, 0);
    dim.pad_before = total / 2;
    dim.pad_after = total - dim.pad_before;
    return dim;
  }
  const int64_t pad_before = pool.explicit_paddings[2 * axis];
  const int64_t pad_after = pool.explicit_paddings[2 * axis + 1];
  const int64_t padded = in + pad_before + pad_after;
  const char* what = axis == 0 ? "height" : "width";
  if (padded < kernel) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the window's ", what, " ", kernel, " is larger than the input's ",
        what, " ", in,
        padded > in ? absl::StrCat(" padded to ", padded) : "",
        pool.explicit_padding ? " with padding \"explicit\""
                              : " with padding \"valid\""));
  }
  dim.out = (padded - kernel) / stride + 1;
  dim.pad_before = pad_before;
  dim.pad_after = pad_after;
  if (pool.ceil_mode) {
    // PyTorch's rule: round up, but the last window must start inside the
    // input or the padding before it. oneDNN is given the extra pixels the
    // last window overhangs as padding after.
    dim.out = (padded - kernel + stride - 1) / stride + 1;
    if ((dim.out - 1) * stride >= in + pad_before) --dim.out;
    const int64_t overhang =
        (dim.out - 1) * stride + kernel - in - pad_before - pad_after;
    if (overhang > 0) {
      // PyTorch divides such a window by the pixels inside the padded
      // input; oneDNN's include-padding average divides every window by
      // the kernel's area. Refused rather than computed differently.
      if (pool.count_include_pad) {
        return absl::InvalidArgumentError(absl::StrCat(
            "with ceil_mode, the last window along the ", what,
            " overhangs the padded input by ", overhang,
            " pixels, where count_include_pad is not supported"));
      }
      dim.pad_after += overhang;
    }
  }
  return dim;
}

absl::Status CheckInputShape(const Shape& x, absl::string_view what) {
  if (x.rank() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " must be rank 4 [N, C, H, W], got ", x.ToString()));
  }
  for (int i = 1; i < 4; ++i) {
    if (x[i] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " [N, C, H, W] must have positive sizes, got ", x.ToString()));
    }
  }
  return absl::OkStatus();
}

// A gradient op's input_shape attr: a valid pooling input whose sizes but
// the batch are known.
absl::Status CheckGradInputShape(const Shape& input_shape) {
  NABLA_RETURN_IF_ERROR(CheckInputShape(input_shape, "input_shape"));
  for (int i = 1; i < 4; ++i) {
    if (input_shape[i] == kUnknownDim) {
      return absl::InvalidArgumentError(
          absl::StrCat("input_shape ", input_shape.ToString(),
                       " may leave only the batch unknown"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Shape> PooledShape(const PoolAttrs& pool, const Shape& x) {
  NABLA_ASSIGN_OR_RETURN(SpatialDim h, PoolOutputDim(pool, 0, x[2]));
  NABLA_ASSIGN_OR_RETURN(SpatialDim w, PoolOutputDim(pool, 1, x[3]));
  return Shape({x[0], x[1], h.out, w.out});
}

// Inputs x; outputs y and, with a workspace, the workspace.
SpecList PoolShapeFn(const ShapeContext& c, bool with_workspace) {
  NABLA_ASSIGN_OR_RETURN(PoolAttrs pool, ReadPoolAttrs(c));
  NABLA_RETURN_IF_ERROR(CheckInputShape(c.input_shape(0), "x"));
  NABLA_ASSIGN_OR_RETURN(Shape y, PooledShape(pool, c.input_shape(0)));
  std::vector<TensorSpec> specs = {{DType::kF32, y}};
  if (with_workspace) specs.push_back({pool.WorkspaceType(), y});
  return specs;
}

// Inputs dy[, workspace]; attr input_shape; output dx.
SpecList PoolGradShapeFn(const ShapeContext& c, bool with_workspace) {
  NABLA_ASSIGN_OR_RETURN(PoolAttrs pool, ReadPoolAttrs(c));
  Shape input_shape = c.GetShape("input_shape");
  NABLA_RETURN_IF_ERROR(CheckGradInputShape(input_shape));
  NABLA_ASSIGN_OR_RETURN(Shape expected, PooledShape(pool, input_shape));
  const Shape& dy = c.input_shape(0);
  if (!dy.IsCompatibleWith(expected)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dy is ", dy.ToString(), " but pooling ",
                     input_shape.ToString(), " gives ", expected.ToString()));
  }
  if (with_workspace) {
    const TensorSpec& workspace = c.input(1);
    if (workspace.dtype != pool.WorkspaceType() ||
        !workspace.shape.IsCompatibleWith(dy)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "workspace must be ", DTypeName(pool.WorkspaceType()), dy.ToString(),
          " (output 1 of the MaxPool2D node), got ", workspace.ToString()));
    }
  }
  if (input_shape[0] == kUnknownDim)
    input_shape = input_shape.WithDim(0, dy[0]);
  return std::vector<TensorSpec>{{DType::kF32, input_shape}};
}

// The layout a pooling runs in. For plain NCHW oneDNN 2.6 has only a generic
// loop (simple_nchw), about 3x slower on the MNIST model's pooling than its
// JIT kernels even counting reorders; those take channel-blocked layouts
// (nChw8c, nChw16c) and NHWC. A value that arrives in one of them (a
// convolution's output) is pooled as it is; others are reordered into the
// blocked layout of the machine's vector width, or NHWC where channels are
// too few to fill a block.
dnnl_tag PoolTag(const Layout& arriving, const Shape& shape, DType dtype) {
  const auto isa = static_cast<int>(dnnl::get_effective_cpu_isa());
  const bool avx512 =
      (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
  const dnnl_tag blocked = avx512 ? dnnl_tag::aBcd16b : dnnl_tag::aBcd8b;
  for (dnnl_tag tag : {blocked, dnnl_tag::acdb}) {
    if (arriving == dnnl::memory::desc(DnnlDims(shape), DnnlType(dtype), tag)) {
      return tag;
    }
  }
  return shape[1] < (avx512 ? 16 : 8) ? dnnl_tag::acdb : blocked;
}

// A pooling with every size known, in oneDNN's terms and in the layout
// `tag`.
struct PoolProblem {
  dnnl::memory::desc src, dst;
  dnnl_dims strides, kernel, padding_l, padding_r;
  bool empty = false;  // a batch of 0: nothing for oneDNN to do
};

absl::StatusOr<PoolProblem> MakeProblem(const AttrReader& attrs, const Shape& x,
                                        dnnl_tag tag) {
  NABLA_ASSIGN_OR_RETURN(PoolAttrs pool, ReadPoolAttrs(attrs));
  NABLA_ASSIGN_OR_RETURN(SpatialDim h, PoolOutputDim(pool, 0, x[2]));
  NABLA_ASSIGN_OR_RETURN(SpatialDim w, PoolOutputDim(pool, 1, x[3]));
  PoolProblem p;
  p.src = dnnl::memory::desc(DnnlDims(x), dnnl_dt::f32, tag);
  p.dst = dnnl::memory::desc({x[0], x[1], h.out, w.out}, dnnl_dt::f32, tag);
  p.strides = {pool.strides[0], pool.strides[1]};
  p.kernel = {pool.kernel[0], pool.kernel[1]};
  p.padding_l = {h.pad_before, w.pad_before};
  p.padding_r = {h.pad_after, w.pad_after};
  p.empty = x[0] == 0;
  return p;
}

dnnl::pooling_forward::desc ForwardDesc(const PoolProblem& p,
                                        dnnl::prop_kind prop,
                                        dnnl::algorithm alg) {
  return dnnl::pooling_forward::desc(prop, alg, p.src, p.dst, p.strides,
                                     p.kernel, p.padding_l, p.padding_r);
}

// The op declares the workspace's dtype and dims (the executor allocates
// what its layout needs); a oneDNN that wanted another would be misread.
absl::Status CheckWorkspace(const dnnl::memory::desc& asked,
                            const TensorSpec& declared,
                            absl::string_view what) {
  if (asked.data_type() != DnnlType(declared.dtype) ||
      asked.dims() != DnnlDims(declared.shape)) {
    return absl::InternalError(absl::StrCat(
        what, ": oneDNN's max-pooling workspace is not the declared ",
        declared.ToString()));
  }
  return absl::OkStatus();
}

// Input x; output y, and for max pooling in training the workspace.
KernelOr MakePoolForwardKernel(const KernelContext& c, dnnl::algorithm alg) {
  const Shape& x = c.input_shape(0);
  NABLA_ASSIGN_OR_RETURN(
      PoolProblem p,
      MakeProblem(c, x, PoolTag(c.input_layout(0), x, DType::kF32)));
  if (p.empty) return EmptyKernel();
  // Only max pooling in a plan that runs its gradient needs the workspace;
  // inference skips writing it.
  const bool with_workspace = c.num_outputs() > 1 && c.output_used(1);
  const dnnl::prop_kind prop = with_workspace
                                   ? dnnl::prop_kind::forward_training
                                   : dnnl::prop_kind::forward_inference;
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::pooling_forward::primitive_desc pd(ForwardDesc(p, prop, alg),
                                             KernelAttr(), CpuEngine());
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, p.src);
    c.SetOutputLayout(0, p.dst);
    k.AddInput(DNNL_ARG_SRC, 0, p.src);
    k.AddOutput(DNNL_ARG_DST, 0, p.dst);
    if (with_workspace) {
      NABLA_RETURN_IF_ERROR(
          CheckWorkspace(pd.workspace_desc(), c.output(1), c.op()));
      c.SetOutputLayout(1, pd.workspace_desc());
      k.AddOutput(DNNL_ARG_WORKSPACE, 1, pd.workspace_desc());
    }
    k.SetPrimitive(dnnl::pooling_forward(pd), pd);
    return absl::OkStatus();
  });
}

// Inputs dy and, for max pooling, the workspace; output dx.
KernelOr MakePoolBackwardKernel(const KernelContext& c, dnnl::algorithm alg) {
  const bool with_workspace = c.num_inputs() > 1;
  // Max pooling runs in its forward's layout, which the workspace keeps.
  const int guide = with_workspace ? 1 : 0;
  const dnnl_tag tag = PoolTag(c.input_layout(guide), c.input_shape(guide),
                               c.input(guide).dtype);
  NABLA_ASSIGN_OR_RETURN(PoolProblem p, MakeProblem(c, c.output_shape(0), tag));
  if (p.empty) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::pooling_forward::primitive_desc hint(
        ForwardDesc(p, dnnl::prop_kind::forward_training, alg), CpuEngine());
    dnnl::pooling_backward::desc d(alg, p.src, p.dst, p.strides, p.kernel,
                                   p.padding_l, p.padding_r);
    dnnl::pooling_backward::primitive_desc pd(d, KernelAttr(), CpuEngine(),
                                              hint);
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, p.dst);
    c.SetOutputLayout(0, p.src);
    k.AddInput(DNNL_ARG_DIFF_DST, 0, p.dst);
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, p.src);
    if (with_workspace) {
      NABLA_RETURN_IF_ERROR(
          CheckWorkspace(pd.workspace_desc(), c.input(1), c.op()));
      // A workspace in another layout is reordered: its values, each
      // maximum's offset within its window, do not depend on the layout.
      c.RequestInputLayout(1, pd.workspace_desc());
      k.AddInput(DNNL_ARG_WORKSPACE, 1, pd.workspace_desc());
    }
    k.SetPrimitive(dnnl::pooling_backward(pd), pd);
    return absl::OkStatus();
  });
}

AttrMap PoolAttrMap(std::vector<int64_t> kernel, std::vector<int64_t> strides,
                    absl::string_view padding) {
  return {{"kernel", IntsAttr(kernel)},
          {"strides", IntsAttr(strides)},
          {"padding", StringAttr(padding)}};
}

AttrMap PoolAttrMap(const Pool2DOptions& options, bool average) {
  AttrMap attrs = PoolAttrMap(options.kernel, options.strides, options.padding);
  attrs["explicit_paddings"] = IntsAttr(options.explicit_paddings);
  attrs["ceil_mode"] = BoolAttr(options.ceil_mode);
  if (average) attrs["count_include_pad"] = BoolAttr(options.count_include_pad);
  return attrs;
}

// Global average pooling: the mean of each channel of x [N, C, H, W], as
// oneDNN's average pooling with a window of the whole image, run in NHWC,
// where the pooled [N, C, 1, 1] is laid out as the plain [N, C] (or
// [N, C, 1, 1]) output.
SpecList GlobalPoolShapeFn(const ShapeContext& c) {
  const Shape& x = c.input_shape(0);
  NABLA_RETURN_IF_ERROR(CheckInputShape(x, "x"));
  Shape y = c.GetBool("keep_dims") ? Shape({x[0], x[1], 1, 1})
                                   : Shape({x[0], x[1]});
  return std::vector<TensorSpec>{{DType::kF32, y}};
}

// The whole-image pooling of x [N, C, H, W] in NHWC.
PoolProblem GlobalProblem(const Shape& x) {
  PoolProblem p;
  p.src = dnnl::memory::desc(DnnlDims(x), dnnl_dt::f32, dnnl_tag::acdb);
  p.dst = dnnl::memory::desc({x[0], x[1], 1, 1}, dnnl_dt::f32, dnnl_tag::acdb);
  p.strides = {1, 1};
  p.kernel = {x[2], x[3]};
  p.padding_l = {0, 0};
  p.padding_r = {0, 0};
  p.empty = x[0] == 0;
  return p;
}

constexpr dnnl::algorithm kGlobalAvg =
    dnnl::algorithm::pooling_avg_exclude_padding;

KernelOr MakeGlobalPoolKernel(const KernelContext& c) {
  PoolProblem p = GlobalProblem(c.input_shape(0));
  if (p.empty) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::pooling_forward::primitive_desc pd(
        ForwardDesc(p, dnnl::prop_kind::forward_inference, kGlobalAvg),
        KernelAttr(), CpuEngine());
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, p.src);
    // The output keeps its plain layout: NHWC [N, C, 1, 1] is the same bytes.
    k.AddInput(DNNL_ARG_SRC, 0, p.src);
    k.AddOutput(DNNL_ARG_DST, 0, p.dst);
    k.SetPrimitive(dnnl::pooling_forward(pd), pd);
    return absl::OkStatus();
  });
}

// Input dy [N, C] (or [N, C, 1, 1]), attr input_shape; output dx
// [N, C, H, W], each pixel dy / (H * W).
SpecList GlobalPoolGradShapeFn(const ShapeContext& c) {
  Shape input_shape = c.GetShape("input_shape");
  NABLA_RETURN_IF_ERROR(CheckGradInputShape(input_shape));
  const Shape& dy = c.input_shape(0);
  Shape expected = c.GetBool("keep_dims")
                       ? Shape({input_shape[0], input_shape[1], 1, 1})
                       : Shape({input_shape[0], input_shape[1]});
  if (!dy.IsCompatibleWith(expected)) {
    return absl::InvalidArgumentError(
        absl::StrCat("dy is ", dy.ToString(), " but pooling ",
                     input_shape.ToString(), " gives ", expected.ToString()));
  }
  if (input_shape[0] == kUnknownDim)
    input_shape = input_shape.WithDim(0, dy[0]);
  return std::vector<TensorSpec>{{DType::kF32, input_shape}};
}

KernelOr MakeGlobalPoolGradKernel(const KernelContext& c) {
  PoolProblem p = GlobalProblem(c.output_shape(0));
  if (p.empty) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::pooling_forward::primitive_desc hint(
        ForwardDesc(p, dnnl::prop_kind::forward_training, kGlobalAvg),
        CpuEngine());
    dnnl::pooling_backward::desc d(kGlobalAvg, p.src, p.dst, p.strides,
                                   p.kernel, p.padding_l, p.padding_r);
    dnnl::pooling_backward::primitive_desc pd(d, KernelAttr(), CpuEngine(),
                                              hint);
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.SetOutputLayout(0, p.src);
    k.AddInput(DNNL_ARG_DIFF_DST, 0, p.dst);
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, p.src);
    k.SetPrimitive(dnnl::pooling_backward(pd), pd);
    return absl::OkStatus();
  });
}

// The attributes of the node being differentiated, and the input shape.
AttrMap GradAttrs(const GradContext& g) {
  AttrMap attrs = g.attrs();
  attrs["input_shape"] = ShapeAttr(g.x_spec(0).shape);
  return attrs;
}

OpSchema& DeclarePoolAttrs(OpSchema& schema, bool average) {
  schema.Attr("kernel", AttrType::kInts)
      .Attr("strides", AttrType::kInts, IntsAttr({}))
      .Attr("padding", AttrType::kString, StringAttr(kValid))
      .Attr("explicit_paddings", AttrType::kInts, IntsAttr({}))
      .Attr("ceil_mode", AttrType::kBool, BoolAttr(false));
  if (average) {
    schema.Attr("count_include_pad", AttrType::kBool, BoolAttr(false));
  }
  return schema;
}

// Keras (and nabla by default) leaves the padding out of each window's
// mean; PyTorch's default, count_include_pad, divides by the whole window.
dnnl::algorithm AvgAlgorithm(const AttrReader& attrs) {
  return attrs.GetBool("count_include_pad")
             ? dnnl::algorithm::pooling_avg_include_padding
             : dnnl::algorithm::pooling_avg_exclude_padding;
}

const bool kRegistered = [] {
  const dnnl::algorithm kMax = dnnl::algorithm::pooling_max;

  OpSchema max_pool("MaxPool2D");
  max_pool.Input("x").Output("y").Output("workspace");
  DeclarePoolAttrs(max_pool, false)
      .SetShapeFn([](const ShapeContext& c) { return PoolShapeFn(c, true); })
      .SetKernel([kMax](const KernelContext& c) {
        return MakePoolForwardKernel(c, kMax);
      })
      .SetGradient([](const GradContext& g) -> GradResult {
        if (!g.has_dy(0)) return std::vector<Output>{Output()};
        return std::vector<Output>{
            MakeOp("MaxPool2DGrad", {g.dy(0), g.y(1)}, GradAttrs(g),
                   g.builder()->UniqueName(g.GradName("dx")))};
      });
  OpRegistry::Global().Register(std::move(max_pool));

  OpSchema max_pool_grad("MaxPool2DGrad");
  max_pool_grad.Input("dy")
      .Input("workspace", {DType::kU8, DType::kI32})
      .Output("dx")
      .Attr("input_shape", AttrType::kShape);
  DeclarePoolAttrs(max_pool_grad, false)
      .SetShapeFn(
          [](const ShapeContext& c) { return PoolGradShapeFn(c, true); })
      .SetKernel([kMax](const KernelContext& c) {
        return MakePoolBackwardKernel(c, kMax);
      })
      .IsGradientOp();
  OpRegistry::Global().Register(std::move(max_pool_grad));

  OpSchema avg_pool("AvgPool2D");
  avg_pool.Input("x").Output("y");
  DeclarePoolAttrs(avg_pool, true)
      .SetShapeFn([](const ShapeContext& c) { return PoolShapeFn(c, false); })
      .SetKernel([](const KernelContext& c) {
        return MakePoolForwardKernel(c, AvgAlgorithm(c));
      })
      .SetGradient([](const GradContext& g) -> GradResult {
        return std::vector<Output>{
            MakeOp("AvgPool2DGrad", {g.dy(0)}, GradAttrs(g),
                   g.builder()->UniqueName(g.GradName("dx")))};
      });
  OpRegistry::Global().Register(std::move(avg_pool));

  OpSchema avg_pool_grad("AvgPool2DGrad");
  avg_pool_grad.Input("dy").Output("dx").Attr("input_shape", AttrType::kShape);
  DeclarePoolAttrs(avg_pool_grad, true)
      .SetShapeFn(
          [](const ShapeContext& c) { return PoolGradShapeFn(c, false); })
      .SetKernel([](const KernelContext& c) {
        return MakePoolBackwardKernel(c, AvgAlgorithm(c));
      })
      .IsGradientOp();
  OpRegistry::Global().Register(std::move(avg_pool_grad));

  OpSchema global_pool("GlobalAveragePool");
  global_pool.Input("x")
      .Output("y")
      .Attr("keep_dims", AttrType::kBool, BoolAttr(false))
      .SetShapeFn(GlobalPoolShapeFn)
      .SetKernel(MakeGlobalPoolKernel)
      .SetGradient([](const GradContext& g) -> GradResult {
        return std::vector<Output>{
            MakeOp("GlobalAveragePoolGrad", {g.dy(0)}, GradAttrs(g),
                   g.builder()->UniqueName(g.GradName("dx")))};
      });
  OpRegistry::Global().Register(std::move(global_pool));

  OpSchema global_pool_grad("GlobalAveragePoolGrad");
  global_pool_grad.Input("dy")
      .Output("dx")
      .Attr("keep_dims", AttrType::kBool, BoolAttr(false))
      .Attr("input_shape", AttrType::kShape)
      .SetShapeFn(GlobalPoolGradShapeFn)
      .SetKernel(MakeGlobalPoolGradKernel)
      .IsGradientOp();
  OpRegistry::Global().Register(std::move(global_pool_grad));
  return true;
}();

}  // namespace

Output MaxPool2D(Output x, std::vector<int64_t> kernel,
                 std::vector<int64_t> strides, absl::string_view padding,
                 absl::string_view name) {
  return MakeOp("MaxPool2D", {x},
                PoolAttrMap(std::move(kernel), std::move(strides), padding),
                name);
}

Output AvgPool2D(Output x, std::vector<int64_t> kernel,
                 std::vector<int64_t> strides, absl::string_view padding,
                 absl::string_view name) {
  return MakeOp("AvgPool2D", {x},
                PoolAttrMap(std::move(kernel), std::move(strides), padding),
                name);
}

Output MaxPool2D(Output x, const Pool2DOptions& options,
                 absl::string_view name) {
  return MakeOp("MaxPool2D", {x}, PoolAttrMap(options, false), name);
}

Output AvgPool2D(Output x, const Pool2DOptions& options,
                 absl::string_view name) {
  return MakeOp("AvgPool2D", {x}, PoolAttrMap(options, true), name);
}

Output GlobalAveragePool(Output x, bool keep_dims, absl::string_view name) {
  return MakeOp("GlobalAveragePool", {x}, {{"keep_dims", BoolAttr(keep_dims)}},
                name);
}

Output MaxPool2DGrad(Output dy, Output workspace, const Shape& input_shape,
                     std::vector<int64_t> kernel, std::vector<int64_t> strides,
                     absl::string_view padding, absl::string_view name) {
  AttrMap attrs = PoolAttrMap(std::move(kernel), std::move(strides), padding);
  attrs["input_shape"] = ShapeAttr(input_shape);
  return MakeOp("MaxPool2DGrad", {dy, workspace}, std::move(attrs), name);
}

Output AvgPool2DGrad(Output dy, const Shape& input_shape,
                     std::vector<int64_t> kernel, std::vector<int64_t> strides,
                     absl::string_view padding, absl::string_view name) {
  AttrMap attrs = PoolAttrMap(std::move(kernel), std::move(strides), padding);
  attrs["input_shape"] = ShapeAttr(input_shape);
  return MakeOp("AvgPool2DGrad", {dy}, std::move(attrs), name);
}

}  // namespace nabla
