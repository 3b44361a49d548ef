// Conv2D (with and without bias) and its gradient ops Conv2DBackpropInput
// and Conv2DBackpropFilter.
//
// Tensors are NCHW activations and OIHW filters; the kernels let oneDNN
// choose their layouts (see the note above ConvForwardKernel).

#include "ops/conv.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "graph/variables.h"
#include "ops/activations.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using KernelOr = absl::StatusOr<std::unique_ptr<Kernel>>;

constexpr char kValid[] = "valid";
constexpr char kSame[] = "same";
constexpr char kExplicit[] = "explicit";

// The geometry attributes of a convolution, checked.
struct ConvAttrs {
  int64_t strides[2];
  int64_t dilations[2];
  std::string padding;
  int64_t explicit_paddings[4] = {0, 0, 0, 0};  // top, bottom, left, right
  // Channels split into this many groups, each convolved with its own
  // filters (PyTorch's groups; depthwise when it equals the channels).
  int64_t groups = 1;
};

absl::StatusOr<ConvAttrs> ReadConvAttrs(const AttrReader& attrs) {
  ConvAttrs conv;
  std::vector<int64_t> strides = attrs.GetInts("strides");
  if (strides.size() != 2 || strides[0] < 1 || strides[1] < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("strides must be two positive integers, got [",
                     absl::StrJoin(strides, ","), "]"));
  }
  std::vector<int64_t> dilations = attrs.GetInts("dilations");
  if (dilations.size() != 2 || dilations[0] < 1 || dilations[1] < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dilations must be two positive integers (1 for none), got [",
        absl::StrJoin(dilations, ","), "]"));
  }
  conv.padding = attrs.GetString("padding");
  if (conv.padding != kValid && conv.padding != kSame &&
      conv.padding != kExplicit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "padding must be \"valid\", \"same\" or \"explicit\", got \"",
        conv.padding, "\""));
  }
  std::vector<int64_t> pads = attrs.GetInts("explicit_paddings");
  if (conv.padding == kExplicit) {
    bool ok = pads.size() == 4;
    for (int64_t p : pads) ok &= p >= 0;
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          "padding \"explicit\" needs explicit_paddings of four integers >= "
          "0 (top, bottom, left, right), got [",
          absl::StrJoin(pads, ","), "]"));
    }
    for (int i = 0; i < 4; ++i) conv.explicit_paddings[i] = pads[i];
  } else if (!pads.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "explicit_paddings are given only with padding \"explicit\", not \"",
        conv.padding, "\""));
  }
  for (int i = 0; i < 2; ++i) {
    conv.strides[i] = strides[i];
    conv.dilations[i] = dilations[i];
  }
  conv.groups = attrs.GetInt("groups");
  if (conv.groups < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("groups must be a positive integer, got ", conv.groups));
  }
  return conv;
}

// One spatial dimension of a convolution: its output size and the padding
// oneDNN is given on either side.
struct SpatialDim {
  int64_t out = kUnknownDim;
  int64_t pad_before = 0;
  int64_t pad_after = 0;
};

// `axis` is 0 for the height, 1 for the width. An unknown input or kernel
// size gives an unknown output size.
absl::StatusOr<SpatialDim> ConvOutputDim(const ConvAttrs& conv, int axis,
                                         int64_t in, int64_t kernel) {
  SpatialDim dim;
  if (in == kUnknownDim || kernel == kUnknownDim) return dim;
  const int64_t stride = conv.strides[axis];
  const int64_t dilation = conv.dilations[axis];
  const int64_t effective_kernel = (kernel - 1) * dilation + 1;
  if (conv.padding == kSame) {
    dim.out = (in + stride - 1) / stride;
    int64_t total =
        std::max<int64_t>((dim.out - 1) * stride + effective_kernel - in, 0);
    dim.pad_before = total / 2;
    dim.pad_after = total - dim.pad_before;
    return dim;
  }
  if (conv.padding == kExplicit) {
    dim.pad_before = conv.explicit_paddings[2 * axis];
    dim.pad_after = conv.explicit_paddings[2 * axis + 1];
  }
  int64_t padded = in + dim.pad_before + dim.pad_after;
  if (padded < effective_kernel) {
    const char* what = axis == 0 ? "height" : "width";
    return absl::InvalidArgumentError(absl::StrCat(
        "the kernel's ", what, " ", kernel,
        dilation > 1 ? absl::StrCat(" (", effective_kernel, " dilated)") : "",
        " is larger than the input's ", what, " ", in,
        padded > in ? absl::StrCat(" padded to ", padded) : "",
        " with padding \"", conv.padding, "\""));
  }
  dim.out = (padded - effective_kernel) / stride + 1;
  return dim;
}

struct ConvGeometry {
  SpatialDim h, w;
};

// The geometry of convolving x [N, C, H, W] with filters [O, C, KH, KW],
// both of rank 4.
absl::StatusOr<ConvGeometry> Geometry(const ConvAttrs& conv, const Shape& x,
                                      const Shape& filters) {
  ConvGeometry g;
  NABLA_ASSIGN_OR_RETURN(g.h, ConvOutputDim(conv, 0, x[2], filters[2]));
  NABLA_ASSIGN_OR_RETURN(g.w, ConvOutputDim(conv, 1, x[3], filters[3]));
  return g;
}

// Known dimensions must be positive; `allow_zero_batch` lets dimension 0
// be 0 (an empty batch).
absl::Status CheckRank4(const Shape& shape, absl::string_view what,
                        absl::string_view layout, bool allow_zero_batch) {
  if (shape.rank() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be rank 4 ", layout, ", got ", shape.ToString()));
  }
  for (int i = 0; i < 4; ++i) {
    if (shape[i] == 0 && !(i == 0 && allow_zero_batch)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ", layout, " must have positive sizes, got ",
                       shape.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckActivation(const AttrReader& attrs) {
  const std::string& activation = attrs.GetString("activation");
  if (activation != "linear" && activation != "relu") {
    return absl::InvalidArgumentError(absl::StrCat(
        "activation must be \"linear\" or \"relu\", got \"", activation, "\""));
  }
  return absl::OkStatus();
}

// The output shape of convolving x with filters; both already rank 4.
absl::StatusOr<Shape> ConvOutputShape(const ConvAttrs& conv, const Shape& x,
                                      const Shape& filters) {
  if (conv.groups == 1 && !DimsAgree(x[1], filters[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x has ", x[1], " channels but the filters expect ", filters[1]));
  }
  if (conv.groups > 1) {
    // Filters [O, C / groups, KH, KW], as PyTorch stores them.
    const int64_t expected =
        filters[1] == kUnknownDim ? kUnknownDim : filters[1] * conv.groups;
    if (!DimsAgree(x[1], expected)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "x has ", x[1], " channels but the filters expect ", filters[1],
          " per group in ", conv.groups, " groups"));
    }
    if (filters[0] != kUnknownDim && filters[0] % conv.groups != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("groups ", conv.groups, " must divide the ", filters[0],
                       " filters"));
    }
  }
  NABLA_ASSIGN_OR_RETURN(ConvGeometry g, Geometry(conv, x, filters));
  return Shape({x[0], filters[0], g.h.out, g.w.out});
}

SpecList ConvShapeFn(const ShapeContext& c, bool has_bias) {
  NABLA_ASSIGN_OR_RETURN(ConvAttrs conv, ReadConvAttrs(c));
  NABLA_RETURN_IF_ERROR(CheckActivation(c));
  const Shape& x = c.input_shape(0);
  const Shape& filters = c.input_shape(1);
  NABLA_RETURN_IF_ERROR(CheckRank4(x, "x", "[N, C, H, W]", true));
  NABLA_RETURN_IF_ERROR(
      CheckRank4(filters, "filters", "[O, C, KH, KW]", false));
  if (has_bias) {
    const Shape& bias = c.input_shape(2);
    if (bias.rank() != 1 || !DimsAgree(bias[0], filters[0])) {
      return absl::InvalidArgumentError(
          absl::StrCat("bias must be [", filters[0], "] (one per filter), got ",
                       bias.ToString()));
    }
  }
  NABLA_ASSIGN_OR_RETURN(Shape y, ConvOutputShape(conv, x, filters));
  return std::vector<TensorSpec>{{DType::kF32, y}};
}

// A shape attribute of a gradient op that may leave only the batch unknown.
absl::StatusOr<Shape> GradShapeAttr(const AttrReader& attrs,
                                    absl::string_view name,
                                    absl::string_view layout,
                                    bool allow_unknown_batch) {
  Shape shape = attrs.GetShape(name);
  NABLA_RETURN_IF_ERROR(CheckRank4(shape, name, layout, allow_unknown_batch));
  for (int i = allow_unknown_batch ? 1 : 0; i < 4; ++i) {
    if (shape[i] == kUnknownDim) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " ", shape.ToString(), " may leave ",
          allow_unknown_batch ? "only the batch" : "no dimension", " unknown"));
    }
  }
  return shape;
}

// dy must be what convolving x_shape by filter_shape gives.
absl::Status CheckDy(const ConvAttrs& conv, const Shape& dy,
                     const Shape& x_shape, const Shape& filter_shape) {
  NABLA_RETURN_IF_ERROR(CheckRank4(dy, "dy", "[N, O, OH, OW]", true));
  NABLA_ASSIGN_OR_RETURN(Shape expected,
                         ConvOutputShape(conv, x_shape, filter_shape));
  if (!dy.IsCompatibleWith(expected)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dy is ", dy.ToString(), " but convolving ", x_shape.ToString(), " by ",
        filter_shape.ToString(), " gives ", expected.ToString()));
  }
  return absl::OkStatus();
}

// Inputs dy, filters; attr input_shape.
SpecList BackpropInputShapeFn(const ShapeContext& c) {
  NABLA_ASSIGN_OR_RETURN(ConvAttrs conv, ReadConvAttrs(c));
  NABLA_ASSIGN_OR_RETURN(Shape input_shape,
                         GradShapeAttr(c, "input_shape", "[N, C, H, W]",
                                       /*allow_unknown_batch=*/true));
  const Shape& dy = c.input_shape(0);
  const Shape& filters = c.input_shape(1);
  NABLA_RETURN_IF_ERROR(
      CheckRank4(filters, "filters", "[O, C, KH, KW]", false));
  NABLA_RETURN_IF_ERROR(CheckDy(conv, dy, input_shape, filters));
  if (input_shape[0] == kUnknownDim)
    input_shape = input_shape.WithDim(0, dy[0]);
  return std::vector<TensorSpec>{{DType::kF32, input_shape}};
}

// Inputs x, dy; attr filter_shape.
SpecList BackpropFilterShapeFn(const ShapeContext& c) {
  NABLA_ASSIGN_OR_RETURN(ConvAttrs conv, ReadConvAttrs(c));
  NABLA_ASSIGN_OR_RETURN(Shape filter_shape,
                         GradShapeAttr(c, "filter_shape", "[O, C, KH, KW]",
                                       /*allow_unknown_batch=*/false));
  const Shape& x = c.input_shape(0);
  const Shape& dy = c.input_shape(1);
  NABLA_RETURN_IF_ERROR(CheckRank4(x, "x", "[N, C, H, W]", true));
  NABLA_RETURN_IF_ERROR(CheckDy(conv, dy, x, filter_shape));
  return std::vector<TensorSpec>{{DType::kF32, filter_shape},
                                 {DType::kF32, Shape({filter_shape[0]})}};
}

// A convolution with every size known, in oneDNN's terms.
struct ConvProblem {
  // weights: [O, C, KH, KW], or oneDNN's grouped [G, O/G, C/G, KH, KW],
  // whose plain layout is the same bytes as the filters' [O, C/G, KH, KW].
  dnnl_dims src, weights, bias, dst;
  bool grouped = false;
  dnnl_dims strides, dilates, padding_l, padding_r;
  bool empty = false;  // a batch of 0: nothing for oneDNN to do
};

absl::StatusOr<ConvProblem> MakeProblem(const AttrReader& attrs, const Shape& x,
                                        const Shape& filters) {
  NABLA_ASSIGN_OR_RETURN(ConvAttrs conv, ReadConvAttrs(attrs));
  NABLA_ASSIGN_OR_RETURN(ConvGeometry g, Geometry(conv, x, filters));
  ConvProblem p;
  p.src = DnnlDims(x);
  p.weights = DnnlDims(filters);
  if (conv.groups > 1) {
    p.grouped = true;
    p.weights = {conv.groups, filters[0] / conv.groups, filters[1], filters[2],
                 filters[3]};
  }
  p.bias = {filters[0]};
  p.dst = {x[0], filters[0], g.h.out, g.w.out};
  p.strides = {conv.strides[0], conv.strides[1]};
  // oneDNN counts dilation from 0: 0 reads adjacent pixels.
  p.dilates = {conv.dilations[0] - 1, conv.dilations[1] - 1};
  p.padding_l = {g.h.pad_before, g.w.pad_before};
  p.padding_r = {g.h.pad_after, g.w.pad_after};
  p.empty = x[0] == 0;
  return p;
}

dnnl::memory::desc AnyDesc(const dnnl_dims& dims) {
  return dnnl::memory::desc(dims, dnnl_dt::f32, dnnl_tag::any);
}

dnnl::memory::desc PlainDescOf(const dnnl_dims& dims) {
  return PlainDesc(Shape(absl::MakeConstSpan(dims)));
}

// Grouped filters stay in their plain layout (goihw), the filters' own
// bytes: the executor's reorders convert between layouts of one shape, and
// oneDNN's grouped weights have a rank more than nabla's filters.
dnnl::memory::desc WeightsDesc(const ConvProblem& p) {
  if (p.grouped) {
    return dnnl::memory::desc(p.weights, dnnl_dt::f32, dnnl_tag::goihw);
  }
  return AnyDesc(p.weights);
}

// The forward convolution's descriptor; the backward kernels make it too,
// as the hint their primitive descriptors need.
dnnl::convolution_forward::desc ForwardDesc(const ConvProblem& p,
                                            dnnl::prop_kind prop,
                                            const dnnl::memory::desc& src,
                                            bool with_bias) {
  if (with_bias) {
    return dnnl::convolution_forward::desc(
        prop, dnnl::algorithm::convolution_direct, src, WeightsDesc(p),
        PlainDescOf(p.bias), AnyDesc(p.dst), p.strides, p.dilates, p.padding_l,
        p.padding_r);
  }
  return dnnl::convolution_forward::desc(
      prop, dnnl::algorithm::convolution_direct, src, WeightsDesc(p),
      AnyDesc(p.dst), p.strides, p.dilates, p.padding_l, p.padding_r);
}

// The kernels take and give the layouts their primitives chose (format
// `any`): the executor reorders only where a neighbour wants another one, so
// a chain of convolutions, ReLU gradients and poolings keeps oneDNN's
// blocked layout throughout, and only the filters, which are stored plain,
// are reordered every training step (inference keeps them converted: see
// CachedFiltersConvKernel).

// An inference convolution whose filters arrive plain while its primitive
// wants them blocked. The executor's reorder would convert them on every run
// (at batch 1 that is 10% of the model's time); this kernel keeps the
// blocked filters and converts them again only when they may have changed:
// when the filters are a variable (or a view of one) whose version
// (VariableStore) moved since, and on every run when they are not a
// variable at all.
class CachedFiltersConvKernel : public Kernel {
 public:
  CachedFiltersConvKernel(const dnnl::convolution_forward::primitive_desc& pd,
                          const dnnl::memory::desc& plain_filters,
                          const dnnl::memory::desc& bias,
                          const VariableStore* variables)
      : variables_(variables),
        primitive_(pd),
        scratchpad_(pd),
        src_(UnboundMemory(pd.src_desc())),
        plain_filters_(UnboundMemory(plain_filters)),
        dst_(UnboundMemory(pd.dst_desc())),
        blocked_buffer_(DType::kU8,
                        Shape({static_cast<int64_t>(
                            std::max<size_t>(LayoutBytes(pd.weights_desc()),
                                             1))})),
        blocked_filters_(pd.weights_desc(), CpuEngine(),
                         blocked_buffer_.raw_data()),
        reorder_(plain_filters_, blocked_filters_) {
    has_bias_ = !bias.is_zero();
    if (has_bias_) bias_ = UnboundMemory(bias);
  }

  absl::Status Compute(const KernelArgs& args) override {
    const void* filters = args.input(1).raw_data();
    if (filters != source_) {
      // Another buffer than last time (or the first run): whose is it?
      source_ = filters;
      version_ =
          variables_ == nullptr ? nullptr : variables_->VersionOfBuffer(filters);
      cached_ = false;
    }
    if (!cached_ || version_ == nullptr || *version_ != cached_version_) {
      Bind(plain_filters_, args.input(1));
      ExecutePrimitive(reorder_, {{DNNL_ARG_FROM, plain_filters_},
                                  {DNNL_ARG_TO, blocked_filters_}});
      cached_ = version_ != nullptr;
      if (cached_) cached_version_ = *version_;
    }
    Bind(src_, args.input(0));
    Bind(dst_, args.output(0));
    if (has_bias_) {
      Bind(bias_, args.input(2));
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                    {DNNL_ARG_SRC, src_},
                                    {DNNL_ARG_WEIGHTS, blocked_filters_},
                                    {DNNL_ARG_BIAS, bias_},
                                    {DNNL_ARG_DST, dst_}});
    } else {
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                    {DNNL_ARG_SRC, src_},
                                    {DNNL_ARG_WEIGHTS, blocked_filters_},
                                    {DNNL_ARG_DST, dst_}});
    }
    return absl::OkStatus();
  }

 private:
  const VariableStore* variables_;
  dnnl::convolution_forward primitive_;
  Scratchpad scratchpad_;
  bool has_bias_ = false;
  dnnl::memory src_, plain_filters_, bias_, dst_;
  Tensor blocked_buffer_;
  dnnl::memory blocked_filters_;
  dnnl::reorder reorder_;
  // What blocked_filters_ holds: the filters at `source_`, as of version
  // `cached_version_` of `*version_` (nullptr: not a variable's).
  const void* source_ = nullptr;
  const uint64_t* version_ = nullptr;
  uint64_t cached_version_ = 0;
  bool cached_ = false;
};

// The source layout a convolution asks for. With one input channel the
// plain layout is already as good as any blocked one, and asking for it
// lets oneDNN pick its direct kernel with a blocked destination (7.3 against
// 12.9 ms a call for the lecture's conv1 at batch 1000 on an AVX-512 Xeon,
// where format `any` picks a channels-last brgemm kernel); the
// backward-weights kernel asks for it too (see there).
dnnl::memory::desc SourceDesc(const ConvProblem& p) {
  return p.src[1] == 1 ? PlainDescOf(p.src) : AnyDesc(p.src);
}

// Inputs x, filters[, bias]; output y.
KernelOr MakeConvForwardKernel(const KernelContext& c, bool has_bias) {
  NABLA_ASSIGN_OR_RETURN(ConvProblem p,
                         MakeProblem(c, c.input_shape(0), c.input_shape(1)));
  if (p.empty) return EmptyKernel();
  const bool relu = c.GetString("activation") == "relu";
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  // In inference, plain filters (the variables' layout) are converted by the
  // kernel, once per write of the variable, rather than by the executor on
  // every run; in training they change every step, and the executor's
  // reorder serves.
  if (!c.training() && c.input_is_plain(1)) {
    std::unique_ptr<Kernel> cached;
    absl::Status optimized;
    NABLA_RETURN_IF_ERROR(CallDnnl(c.op(), [&] {
      dnnl::convolution_forward::primitive_desc pd(
          ForwardDesc(p, dnnl::prop_kind::forward_inference, SourceDesc(p),
                      has_bias),
          KernelAttr(attr), CpuEngine());
      optimized = RequireOptimizedImpl(pd, c.op());
      const dnnl::memory::desc plain_filters = PlainDescOf(p.weights);
      // Plain filters wanted: nothing to convert, the kernel below serves.
      if (!optimized.ok() || pd.weights_desc() == plain_filters) return;
      c.RequestInputLayout(0, pd.src_desc());
      c.SetOutputLayout(0, pd.dst_desc());
      cached = std::make_unique<CachedFiltersConvKernel>(
          pd, plain_filters,
          has_bias ? PlainDescOf(p.bias) : dnnl::memory::desc(),
          c.variables());
    }));
    NABLA_RETURN_IF_ERROR(optimized);
    if (cached != nullptr) return cached;
  }
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::convolution_forward::primitive_desc pd(
        ForwardDesc(p, dnnl::prop_kind::forward_inference, SourceDesc(p),
                    has_bias),
        KernelAttr(attr), CpuEngine());
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, pd.src_desc());
    if (!p.grouped) c.RequestInputLayout(1, pd.weights_desc());
    c.SetOutputLayout(0, pd.dst_desc());
    k.AddInput(DNNL_ARG_SRC, 0, pd.src_desc());
    k.AddInput(DNNL_ARG_WEIGHTS, 1, pd.weights_desc());
    if (has_bias) k.AddInput(DNNL_ARG_BIAS, 2, PlainDescOf(p.bias));
    k.AddOutput(DNNL_ARG_DST, 0, pd.dst_desc());
    k.SetPrimitive(dnnl::convolution_forward(pd), pd);
    return absl::OkStatus();
  });
}

// Inputs dy, filters; output dx.
KernelOr MakeConvBackwardDataKernel(const KernelContext& c) {
  NABLA_ASSIGN_OR_RETURN(ConvProblem p,
                         MakeProblem(c, c.output_shape(0), c.input_shape(1)));
  if (p.empty) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::convolution_forward::primitive_desc hint(
        ForwardDesc(p, dnnl::prop_kind::forward_training, AnyDesc(p.src),
                    false),
        CpuEngine());
    dnnl::convolution_backward_data::desc d(
        dnnl::algorithm::convolution_direct, AnyDesc(p.src), WeightsDesc(p),
        AnyDesc(p.dst), p.strides, p.dilates, p.padding_l, p.padding_r);
    dnnl::convolution_backward_data::primitive_desc pd(d, KernelAttr(),
                                                       CpuEngine(), hint);
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    // The filters' layout may differ from the forward's (8b8a against 8a8b
    // for the MNIST model's conv2); each asks for its own.
    c.RequestInputLayout(0, pd.diff_dst_desc());
    if (!p.grouped) c.RequestInputLayout(1, pd.weights_desc());
    c.SetOutputLayout(0, pd.diff_src_desc());
    k.AddInput(DNNL_ARG_DIFF_DST, 0, pd.diff_dst_desc());
    k.AddInput(DNNL_ARG_WEIGHTS, 1, pd.weights_desc());
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, pd.diff_src_desc());
    k.SetPrimitive(dnnl::convolution_backward_data(pd), pd);
    return absl::OkStatus();
  });
}

// Writes zeros to its first `num_outputs` outputs: the gradients of a batch
// of no examples.
class ZeroOutputsKernel : public Kernel {
 public:
  explicit ZeroOutputsKernel(int num_outputs) : num_outputs_(num_outputs) {}

  absl::Status Compute(const KernelArgs& args) override {
    for (int i = 0; i < num_outputs_; ++i) {
      std::memset(args.output(i).raw_data(), 0, args.output(i).nbytes());
    }
    return absl::OkStatus();
  }

 private:
  int num_outputs_;
};

// Inputs x, dy; outputs d_filters, d_bias. The bias gradient comes from the
// same primitive, and only where the plan reads it.
KernelOr MakeConvBackwardWeightsKernel(const KernelContext& c) {
  NABLA_ASSIGN_OR_RETURN(ConvProblem p,
                         MakeProblem(c, c.input_shape(0), c.output_shape(0)));
  const bool with_bias = c.output_used(1);
  if (p.empty) {
    return std::unique_ptr<Kernel>(
        std::make_unique<ZeroOutputsKernel>(with_bias ? 2 : 1));
  }
  // With one input channel, format `any` pads the source to 8 channels and
  // reorders it every step, which costs more than the convolution; the
  // plain source takes a GEMM-based path instead.
  const dnnl::memory::desc src = SourceDesc(p);
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    dnnl::convolution_forward::primitive_desc hint(
        ForwardDesc(p, dnnl::prop_kind::forward_training, src, with_bias),
        CpuEngine());
    dnnl::convolution_backward_weights::desc d =
        with_bias ? dnnl::convolution_backward_weights::desc(
                        dnnl::algorithm::convolution_direct, src,
                        WeightsDesc(p), PlainDescOf(p.bias),
                        AnyDesc(p.dst), p.strides, p.dilates, p.padding_l,
                        p.padding_r)
                  : dnnl::convolution_backward_weights::desc(
                        dnnl::algorithm::convolution_direct, src,
                        WeightsDesc(p), AnyDesc(p.dst), p.strides,
                        p.dilates, p.padding_l, p.padding_r);
    dnnl::convolution_backward_weights::primitive_desc pd(d, KernelAttr(),
                                                          CpuEngine(), hint);
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, pd.src_desc());
    c.RequestInputLayout(1, pd.diff_dst_desc());
    if (!p.grouped) c.SetOutputLayout(0, pd.diff_weights_desc());
    k.AddInput(DNNL_ARG_SRC, 0, pd.src_desc());
    k.AddInput(DNNL_ARG_DIFF_DST, 1, pd.diff_dst_desc());
    k.AddOutput(DNNL_ARG_DIFF_WEIGHTS, 0, pd.diff_weights_desc());
    if (with_bias) k.AddOutput(DNNL_ARG_DIFF_BIAS, 1, PlainDescOf(p.bias));
    k.SetPrimitive(dnnl::convolution_backward_weights(pd), pd);
    return absl::OkStatus();
  });
}

// The geometry attributes the gradient ops share with the forward op.
AttrMap GeometryAttrs(const AttrReader& forward) {
  AttrMap attrs;
  for (const char* name :
       {"strides", "padding", "explicit_paddings", "dilations", "groups"}) {
    attrs[name] = forward.attrs().at(name);
  }
  return attrs;
}

// MaskedPoolGradient: when `dy`, the gradient of `relu_output` (a fused
// ReLU's output), is exactly a max pooling's gradient (the pooling is its
// only consumer, or the gradients would have been summed), the ReLU's
// backward can run on the pooled gradient, before it is scattered back: a
// window's gradient reaches only its maximum, and the ReLU passes it exactly
// when that maximum (the pooled value) is positive. The mask then touches a
// quarter of the elements (2x2 windows) instead of all of them.
// Returns the rewritten gradient of the pre-activation, or an invalid Output
// when the pattern does not hold. The original pooling gradient stays in the
// graph for anyone who asks for the gradient of the ReLU's output; a plan
// that does not need it prunes it.
Output MaskedPoolGradient(GraphBuilder* b, Output dy, Output relu_output,
                          const std::string& name) {
  const Graph& graph = b->graph();
  if (!dy.valid() || dy.ref().index != 0) return Output();
  const Node& pool_grad = graph.node(dy.ref().node);
  if (pool_grad.op() != "MaxPool2DGrad") return Output();
  const NodeOutput workspace = pool_grad.inputs[1];
  const Node& pool = graph.node(workspace.node);
  if (pool.op() != "MaxPool2D" || workspace.index != 1 ||
      !(pool.inputs[0] == relu_output.ref())) {
    return Output();
  }
  // Copied before nodes are added: adding may move the graph's nodes.
  const Output pooled_dy(b, pool_grad.inputs[0]);
  AttrMap attrs = pool_grad.attrs;
  const Output pooled(b, NodeOutput{workspace.node, 0});
  Output masked = ReluGrad(pooled_dy, pooled, name + "_pooled");
  return MakeOp("MaxPool2DGrad", {masked, Output(b, workspace)},
                std::move(attrs), name);
}

GradResult ConvGradient(const GradContext& g, bool has_bias) {
  GraphBuilder* b = g.builder();
  Output dz = g.dy(0);
  if (g.GetString("activation") == "relu") {
    const std::string relu_name = b->UniqueName(g.GradName("relu"));
    Output through_pool = MaskedPoolGradient(b, dz, g.y(0), relu_name);
    dz = through_pool.valid() ? through_pool : ReluGrad(dz, g.y(0), relu_name);
  }
  AttrMap data_attrs = GeometryAttrs(g);
  data_attrs["input_shape"] = ShapeAttr(g.x_spec(0).shape);
  Output dx = MakeOp("Conv2DBackpropInput", {dz, g.x(1)}, std::move(data_attrs),
                     b->UniqueName(g.GradName("dx")));
  AttrMap filter_attrs = GeometryAttrs(g);
  filter_attrs["filter_shape"] = ShapeAttr(g.x_spec(1).shape);
  std::vector<Output> dw =
      MakeOpOutputs("Conv2DBackpropFilter", {g.x(0), dz},
                    std::move(filter_attrs), b->UniqueName(g.GradName("dw")));
  if (dw.size() != 2) return b->status();
  if (has_bias) return std::vector<Output>{dx, dw[0], dw[1]};
  return std::vector<Output>{dx, dw[0]};
}

// The geometry attributes every op of this file declares.
OpSchema& DeclareGeometryAttrs(OpSchema& schema) {
  return schema.Attr("strides", AttrType::kInts, IntsAttr({1, 1}))
      .Attr("padding", AttrType::kString, StringAttr(kValid))
      .Attr("explicit_paddings", AttrType::kInts, IntsAttr({}))
      .Attr("dilations", AttrType::kInts, IntsAttr({1, 1}))
      .Attr("groups", AttrType::kInt, IntAttr(1));
}

void RegisterConvForward(const std::string& name, bool has_bias) {
  OpSchema schema(name);
  schema.Input("x").Input("filters");
  if (has_bias) schema.Input("bias");
  schema.Output("y");
  DeclareGeometryAttrs(schema)
      .Attr("activation", AttrType::kString, StringAttr("linear"))
      .SetShapeFn([has_bias](const ShapeContext& c) {
        return ConvShapeFn(c, has_bias);
      })
      .SetKernel([has_bias](const KernelContext& c) {
        return MakeConvForwardKernel(c, has_bias);
      })
      .SetGradient([has_bias](const GradContext& g) {
        return ConvGradient(g, has_bias);
      });
  OpRegistry::Global().Register(std::move(schema));
}

const bool kRegistered = [] {
  RegisterConvForward("Conv2D", /*has_bias=*/false);
  RegisterConvForward("Conv2DWithBias", /*has_bias=*/true);

  OpSchema backprop_input("Conv2DBackpropInput");
  backprop_input.Input("dy").Input("filters").Output("dx");
  DeclareGeometryAttrs(backprop_input)
      .Attr("input_shape", AttrType::kShape)
      .SetShapeFn(BackpropInputShapeFn)
      .SetKernel(MakeConvBackwardDataKernel)
      .IsGradientOp();
  OpRegistry::Global().Register(std::move(backprop_input));

  OpSchema backprop_filter("Conv2DBackpropFilter");
  backprop_filter.Input("x").Input("dy").Output("d_filters").Output("d_bias");
  DeclareGeometryAttrs(backprop_filter)
      .Attr("filter_shape", AttrType::kShape)
      .SetShapeFn(BackpropFilterShapeFn)
      .SetKernel(MakeConvBackwardWeightsKernel)
      .IsGradientOp();
  OpRegistry::Global().Register(std::move(backprop_filter));
  return true;
}();

AttrMap OptionAttrs(const Conv2DOptions& options) {
  return {{"strides", IntsAttr(options.strides)},
          {"padding", StringAttr(options.padding)},
          {"explicit_paddings", IntsAttr(options.explicit_paddings)},
          {"dilations", IntsAttr(options.dilations)},
          {"groups", IntAttr(options.groups)}};
}

}  // namespace

Output Conv2D(Output x, Output filters, Output bias,
              const Conv2DOptions& options, absl::string_view name) {
  AttrMap attrs = OptionAttrs(options);
  attrs["activation"] =
      StringAttr(options.activation == Activation::kRelu ? "relu" : "linear");
  if (bias.valid()) {
    return MakeOp("Conv2DWithBias", {x, filters, bias}, std::move(attrs), name);
  }
  return MakeOp("Conv2D", {x, filters}, std::move(attrs), name);
}

Output Conv2DBackpropInput(Output dy, Output filters, const Shape& input_shape,
                           const Conv2DOptions& options,
                           absl::string_view name) {
  AttrMap attrs = OptionAttrs(options);
  attrs["input_shape"] = ShapeAttr(input_shape);
  return MakeOp("Conv2DBackpropInput", {dy, filters}, std::move(attrs), name);
}

std::vector<Output> Conv2DBackpropFilter(Output x, Output dy,
                                         const Shape& filter_shape,
                                         const Conv2DOptions& options,
                                         absl::string_view name) {
  AttrMap attrs = OptionAttrs(options);
  attrs["filter_shape"] = ShapeAttr(filter_shape);
  return MakeOpOutputs("Conv2DBackpropFilter", {x, dy}, std::move(attrs), name);
}

}  // namespace nabla
