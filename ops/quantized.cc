// Quantize, Dequantize, QuantizedConv2D, QuantizedDense and
// QuantizedMaxPool2D on oneDNN's int8 primitives (see ops/quantized.h for
// the arithmetic).
//
// oneDNN 2.6 adds an int8 primitive's bias to the s32 accumulator before it
// applies the output scales (dst = scale * (acc + bias)), so the kernels hand
// it the bias in accumulator units, bias[o] / (input_scale * w_scale[o]),
// kept in f32 rather than rounded to s32.

#include "ops/quantized.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "graph/variables.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using KernelOr = absl::StatusOr<std::unique_ptr<Kernel>>;

absl::Status CheckScale(const AttrReader& attrs, const char* name) {
  const float scale = attrs.GetFloat(name);
  if (!(scale > 0) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be positive and finite, got ", scale));
  }
  return absl::OkStatus();
}

absl::Status CheckOutputType(const AttrReader& attrs) {
  const DType type = attrs.GetDType("output_type");
  if (type != DType::kU8 && type != DType::kF32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output_type must be u8 or f32, got ", DTypeName(type)));
  }
  if (type == DType::kU8) return CheckScale(attrs, "output_scale");
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

// Quantize and Dequantize: one reorder with the scale as its output scale.
KernelOr MakeScaleReorderKernel(const KernelContext& c, float scale) {
  const Shape& shape = c.input_shape(0);
  if (shape.NumElements() == 0) return EmptyKernel();
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    const dnnl::memory::desc src = PlainLayout(shape, c.input(0).dtype);
    const dnnl::memory::desc dst = PlainLayout(shape, c.output(0).dtype);
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {scale});
    dnnl::reorder::primitive_desc pd(CpuEngine(), src, CpuEngine(), dst,
                                     KernelAttr(attr));
    k.AddInput(DNNL_ARG_FROM, 0, src);
    k.AddOutput(DNNL_ARG_TO, 0, dst);
    k.SetPrimitive(dnnl::reorder(pd), pd);
    return absl::OkStatus();
  });
}

// The f32 variable attribute `attr` names, which must have `shape`.
absl::StatusOr<const Tensor*> WeightsVariable(const KernelContext& c,
                                              const char* attr,
                                              const Shape& shape) {
  const std::string& name = c.GetString(attr);
  const Tensor* value =
      c.variables() == nullptr ? nullptr : c.variables()->Find(name);
  if (value == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        attr, " names '", name, "', which is no variable of the session"));
  }
  if (value->dtype() != DType::kF32 || value->shape() != shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        "variable '", name, "' (", attr, ") is ", value->DebugString(),
        " but the node's input is f32", shape.ToString()));
  }
  return value;
}

// QuantizedLayerKernel runs an int8 convolution or inner product whose
// weights and bias it owns, quantized and laid out when it was made.
class QuantizedLayerKernel : public Kernel {
 public:
  absl::Status Compute(const KernelArgs& args) override {
    if (!primitive_) return absl::OkStatus();
    Bind(src_, args.input(0));
    Bind(dst_, args.output(0));
    ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                  {DNNL_ARG_SRC, src_},
                                  {DNNL_ARG_WEIGHTS, weights_},
                                  {DNNL_ARG_BIAS, bias_},
                                  {DNNL_ARG_DST, dst_}});
    return absl::OkStatus();
  }

  // Prepare quantizes `w` (w[o, k] = data[o * channel_stride + k *
  // element_stride]) and `bias`, sets `attr`'s output scales and calls
  // `make_pd` with it; then reorders the weights into the layout the
  // primitive chose. The input is requested in `input_layout` when given
  // (the same bytes seen otherwise), else in the primitive's.
  template <typename PrimitiveDesc, typename Primitive>
  absl::Status Prepare(const KernelContext& c, const Tensor& w,
                       int64_t channels, int64_t per_channel,
                       int64_t channel_stride, int64_t element_stride,
                       const Tensor& bias, const dnnl::memory::desc& plain_weights,
                       const std::function<PrimitiveDesc(const dnnl::primitive_attr&)>&
                           make_pd,
                       const dnnl::memory::desc* input_layout = nullptr) {
    const float input_scale = c.GetFloat("input_scale");
    const bool u8_out = c.GetDType("output_type") == DType::kU8;
    const float output_scale = u8_out ? c.GetFloat("output_scale") : 1.0f;
    PerChannelWeights q =
        QuantizeWeightsPerChannel(w.data<float>(), channels, per_channel,
                                  channel_stride, element_stride, Int8WeightLimit());
    std::vector<float> scales(channels);
    bias_values_ = Tensor(DType::kF32, Shape({channels}));
    for (int64_t o = 0; o < channels; ++o) {
      const double acc_scale = double{input_scale} * q.scales[o];
      scales[o] = static_cast<float>(acc_scale / output_scale);
      bias_values_.data<float>()[o] =
          static_cast<float>(bias.data<float>()[o] / acc_scale);
    }
    dnnl::primitive_attr attr;
    attr.set_output_scales(/*mask=*/1 << 1, scales);
    if (c.GetString("activation") == "relu") {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    PrimitiveDesc pd = make_pd(KernelAttr(attr));
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, input_layout != nullptr ? *input_layout : pd.src_desc());
    c.SetOutputLayout(0, pd.dst_desc());
    src_ = UnboundMemory(pd.src_desc());
    dst_ = UnboundMemory(pd.dst_desc());
    bias_ = dnnl::memory(pd.bias_desc(), CpuEngine(), bias_values_.raw_data());
    weights_buffer_ = Tensor(
        DType::kU8, Shape({static_cast<int64_t>(pd.weights_desc().get_size())}));
    weights_ = dnnl::memory(pd.weights_desc(), CpuEngine(),
                            weights_buffer_.raw_data());
    dnnl::memory plain(plain_weights, CpuEngine(), q.values.data());
    dnnl::reorder(plain, weights_).execute(CpuStream(), plain, weights_);
    CpuStream().wait();
    primitive_ = Primitive(pd);
    scratchpad_ = Scratchpad(pd);
    return absl::OkStatus();
  }

 private:
  dnnl::primitive primitive_;
  Scratchpad scratchpad_;
  Tensor bias_values_;
  Tensor weights_buffer_;  // the weights in the primitive's layout
  dnnl::memory src_, weights_, bias_, dst_;
};

// ---- QuantizedConv2D ----

struct ConvGeometry {
  dnnl_dims strides, dilates, padding_l, padding_r;
  int64_t out_h = kUnknownDim, out_w = kUnknownDim;
};

absl::StatusOr<ConvGeometry> ConvGeometryOf(const AttrReader& attrs,
                                            const Shape& x,
                                            const Shape& filters) {
  const std::vector<int64_t> strides = attrs.GetInts("strides");
  const std::vector<int64_t> dilations = attrs.GetInts("dilations");
  const std::string& padding = attrs.GetString("padding");
  if (strides.size() != 2 || dilations.size() != 2 || strides[0] < 1 ||
      strides[1] < 1 || dilations[0] < 1 || dilations[1] < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "strides and dilations must be two positive integers, got [",
        absl::StrJoin(strides, ","), "] and [", absl::StrJoin(dilations, ","),
        "]"));
  }
  if (padding != "valid" && padding != "same") {
    return absl::InvalidArgumentError(absl::StrCat(
        "padding must be \"valid\" or \"same\", got \"", padding, "\""));
  }
  ConvGeometry g;
  g.strides = {strides[0], strides[1]};
  g.dilates = {dilations[0] - 1, dilations[1] - 1};
  g.padding_l = {0, 0};
  g.padding_r = {0, 0};
  int64_t* out[2] = {&g.out_h, &g.out_w};
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = x[2 + axis], kernel = filters[2 + axis];
    if (in == kUnknownDim) continue;
    const int64_t effective = (kernel - 1) * dilations[axis] + 1;
    if (padding == "same") {
      *out[axis] = (in + strides[axis] - 1) / strides[axis];
      const int64_t total = std::max<int64_t>(
          (*out[axis] - 1) * strides[axis] + effective - in, 0);
      g.padding_l[axis] = total / 2;
      g.padding_r[axis] = total - total / 2;
    } else {
      if (in < effective) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the kernel ", filters.ToString(), " is larger than the input ",
            x.ToString()));
      }
      *out[axis] = (in - effective) / strides[axis] + 1;
    }
  }
  return g;
}

// oneDNN 2.6 lists its BRGEMM int8 convolution first, and without AMX it is
// the slower one. Measured at batch 1000 on 2 threads of this machine: the
// lecture's conv1 (one input channel) takes 166 ms on
// brgconv:avx512_core_vnni and 27 ms on jit_int8:avx512_core_vnni, conv2
// 61 ms against 32 ms, while conv2's brgconv:avx512_core_amx_int8 takes
// 16 ms. So unless the first choice runs on AMX, the jit_int8
// implementation is taken where there is one. `make` makes the primitive
// descriptor afresh (next_impl() moves a descriptor on in place).
dnnl::convolution_forward::primitive_desc ChooseConvImpl(
    const std::function<dnnl::convolution_forward::primitive_desc()>& make) {
  dnnl::convolution_forward::primitive_desc first = make();
  if (absl::StrContains(first.impl_info_str(), "amx")) return first;
  dnnl::convolution_forward::primitive_desc scan = make();
  while (scan.next_impl()) {
    if (absl::StartsWith(scan.impl_info_str(), "jit_int8:")) return scan;
  }
  return first;
}

SpecList QuantizedConvShapeFn(const ShapeContext& c) {
  NABLA_RETURN_IF_ERROR(CheckScale(c, "input_scale"));
  NABLA_RETURN_IF_ERROR(CheckOutputType(c));
  NABLA_RETURN_IF_ERROR(CheckActivation(c));
  const Shape& x = c.input_shape(0);
  const Shape& filters = c.input_shape(1);
  const Shape& bias = c.input_shape(2);
  if (x.rank() != 4 || filters.rank() != 4 || !filters.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x must be rank 4 [N, C, H, W] and filters [O, C, KH, KW], got ",
        x.ToString(), " and ", filters.ToString()));
  }
  if (!DimsAgree(x[1], filters[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x has ", x[1], " channels but the filters expect ", filters[1]));
  }
  if (bias.rank() != 1 || bias[0] != filters[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bias must be [", filters[0], "], got ", bias.ToString()));
  }
  NABLA_ASSIGN_OR_RETURN(ConvGeometry g, ConvGeometryOf(c, x, filters));
  return std::vector<TensorSpec>{
      {c.GetDType("output_type"), Shape({x[0], filters[0], g.out_h, g.out_w})}};
}

KernelOr MakeQuantizedConvKernel(const KernelContext& c) {
  const Shape& x = c.input_shape(0);
  const Shape& filters = c.input_shape(1);
  NABLA_ASSIGN_OR_RETURN(ConvGeometry g, ConvGeometryOf(c, x, filters));
  if (x[0] == 0) return EmptyKernel();
  NABLA_ASSIGN_OR_RETURN(const Tensor* w,
                         WeightsVariable(c, "filters_variable", filters));
  NABLA_ASSIGN_OR_RETURN(const Tensor* bias,
                         WeightsVariable(c, "bias_variable", c.input_shape(2)));
  const dnnl_dt dst_type = DnnlType(c.GetDType("output_type"));
  const dnnl_dims src_dims = DnnlDims(x), weight_dims = DnnlDims(filters);
  const dnnl_dims dst_dims = {x[0], filters[0], g.out_h, g.out_w};
  const int64_t per_channel = filters[1] * filters[2] * filters[3];
  auto kernel = std::make_unique<QuantizedLayerKernel>();
  absl::Status status;
  NABLA_RETURN_IF_ERROR(CallDnnl(c.op(), [&] {
    status =
        kernel->Prepare<dnnl::convolution_forward::primitive_desc,
                        dnnl::convolution_forward>(
            c, *w, filters[0], per_channel, per_channel, 1, *bias,
            dnnl::memory::desc(weight_dims, dnnl_dt::s8, dnnl_tag::oihw),
            [&](const dnnl::primitive_attr& attr) {
              dnnl::convolution_forward::desc d(
                  dnnl::prop_kind::forward_inference,
                  dnnl::algorithm::convolution_direct,
                  dnnl::memory::desc(src_dims, dnnl_dt::u8, dnnl_tag::any),
                  dnnl::memory::desc(weight_dims, dnnl_dt::s8, dnnl_tag::any),
                  dnnl::memory::desc({filters[0]}, dnnl_dt::f32, dnnl_tag::a),
                  dnnl::memory::desc(dst_dims, dst_type, dnnl_tag::any),
                  g.strides, g.dilates, g.padding_l, g.padding_r);
              return ChooseConvImpl([&] {
                return dnnl::convolution_forward::primitive_desc(d, attr,
                                                                 CpuEngine());
              });
            });
  }));
  NABLA_RETURN_IF_ERROR(status);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

// ---- QuantizedDense ----

SpecList QuantizedDenseShapeFn(const ShapeContext& c) {
  NABLA_RETURN_IF_ERROR(CheckScale(c, "input_scale"));
  NABLA_RETURN_IF_ERROR(CheckOutputType(c));
  NABLA_RETURN_IF_ERROR(CheckActivation(c));
  const Shape& x = c.input_shape(0);
  const Shape& w = c.input_shape(1);
  const Shape& bias = c.input_shape(2);
  if ((x.rank() != 2 && x.rank() != 4) || w.rank() != 2 ||
      !w.IsFullyDefined()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x must be rank 2 [N, K] or 4 [N, C, H, W] and w [K, O], got ",
        x.ToString(), " and ", w.ToString()));
  }
  int64_t features = x[1];
  for (int i = 2; i < x.rank(); ++i) {
    features = x[i] == kUnknownDim || features == kUnknownDim
                   ? kUnknownDim
                   : features * x[i];
  }
  if (!DimsAgree(features, w[0])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "x ", x.ToString(), " has ", features, " features but w expects ",
        w[0]));
  }
  if (bias.rank() != 1 || bias[0] != w[1]) {
    return absl::InvalidArgumentError(
        absl::StrCat("bias must be [", w[1], "], got ", bias.ToString()));
  }
  return std::vector<TensorSpec>{
      {c.GetDType("output_type"), Shape({x[0], w[1]})}};
}

KernelOr MakeQuantizedDenseKernel(const KernelContext& c) {
  const Shape& x = c.input_shape(0);
  const Shape& w_shape = c.input_shape(1);
  if (x[0] == 0) return EmptyKernel();
  NABLA_ASSIGN_OR_RETURN(const Tensor* w,
                         WeightsVariable(c, "weights_variable", w_shape));
  NABLA_ASSIGN_OR_RETURN(const Tensor* bias,
                         WeightsVariable(c, "bias_variable", c.input_shape(2)));
  const int64_t k = w_shape[0], o = w_shape[1];
  const dnnl_dt dst_type = DnnlType(c.GetDType("output_type"));
  // A 4-D source [N, C, H, W] is read channels-last, as the int8
  // convolutions and poolings give it, and seen as the matrix [N, H*W*C]
  // it then is in memory; the weights' rows are permuted from Flatten's
  // (c, h, w) order to (h, w, c) to match. oneDNN 2.6 runs a 2-D int8 inner
  // product on its AMX/VNNI BRGEMM kernels, a 4-D one on a slower GEMM.
  Tensor weights = *w;
  const dnnl::memory::desc* input_layout = nullptr;
  dnnl::memory::desc channels_last;
  if (x.rank() == 4) {
    const int64_t channels = x[1], pixels = x[2] * x[3];
    weights = Tensor(DType::kF32, w_shape);
    const float* from = w->data<float>();
    float* to = weights.data<float>();
    for (int64_t ch = 0; ch < channels; ++ch) {
      for (int64_t p = 0; p < pixels; ++p) {
        std::copy_n(from + (ch * pixels + p) * o, o, to + (p * channels + ch) * o);
      }
    }
    channels_last = dnnl::memory::desc(DnnlDims(x), dnnl_dt::u8, dnnl_tag::acdb);
    input_layout = &channels_last;
  }
  auto kernel = std::make_unique<QuantizedLayerKernel>();
  absl::Status status;
  NABLA_RETURN_IF_ERROR(CallDnnl(c.op(), [&] {
    status =
        kernel->Prepare<dnnl::inner_product_forward::primitive_desc,
                        dnnl::inner_product_forward>(
            c, weights, o, k, /*channel_stride=*/1, /*element_stride=*/o, *bias,
            dnnl::memory::desc({o, k}, dnnl_dt::s8, dnnl_tag::oi),
            [&](const dnnl::primitive_attr& attr) {
              dnnl::inner_product_forward::desc d(
                  dnnl::prop_kind::forward_inference,
                  dnnl::memory::desc({x[0], k}, dnnl_dt::u8,
                                     x.rank() == 4 ? dnnl_tag::ab : dnnl_tag::any),
                  dnnl::memory::desc({o, k}, dnnl_dt::s8, dnnl_tag::any),
                  dnnl::memory::desc({o}, dnnl_dt::f32, dnnl_tag::a),
                  dnnl::memory::desc({x[0], o}, dst_type, dnnl_tag::ab));
              return dnnl::inner_product_forward::primitive_desc(d, attr,
                                                                 CpuEngine());
            },
            input_layout);
  }));
  NABLA_RETURN_IF_ERROR(status);
  return std::unique_ptr<Kernel>(std::move(kernel));
}

// ---- QuantizedMaxPool2D ----

absl::StatusOr<std::vector<int64_t>> PoolOutputHW(const AttrReader& attrs,
                                                  const Shape& x) {
  const std::vector<int64_t> kernel = attrs.GetInts("kernel");
  const std::vector<int64_t> strides = attrs.GetInts("strides");
  if (kernel.size() != 2 || strides.size() != 2 || kernel[0] < 1 ||
      kernel[1] < 1 || strides[0] < 1 || strides[1] < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kernel and strides must be two positive integers, got [",
        absl::StrJoin(kernel, ","), "] and [", absl::StrJoin(strides, ","),
        "]"));
  }
  std::vector<int64_t> out(2, kUnknownDim);
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = x[2 + axis];
    if (in == kUnknownDim) continue;
    if (in < kernel[axis]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the pooling window [", absl::StrJoin(kernel, ","),
          "] is larger than the input ", x.ToString()));
    }
    out[axis] = (in - kernel[axis]) / strides[axis] + 1;
  }
  return out;
}

SpecList QuantizedMaxPoolShapeFn(const ShapeContext& c) {
  const Shape& x = c.input_shape(0);
  if (x.rank() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("x must be rank 4 [N, C, H, W], got ", x.ToString()));
  }
  NABLA_ASSIGN_OR_RETURN(std::vector<int64_t> hw, PoolOutputHW(c, x));
  return std::vector<TensorSpec>{
      {DType::kU8, Shape({x[0], x[1], hw[0], hw[1]})}};
}

// oneDNN's int8 max pooling JIT takes NHWC; other layouts are reordered.
KernelOr MakeQuantizedMaxPoolKernel(const KernelContext& c) {
  const Shape& x = c.input_shape(0);
  NABLA_ASSIGN_OR_RETURN(std::vector<int64_t> hw, PoolOutputHW(c, x));
  if (x[0] == 0) return EmptyKernel();
  const std::vector<int64_t> kernel = c.GetInts("kernel");
  const std::vector<int64_t> strides = c.GetInts("strides");
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    const dnnl::memory::desc src(DnnlDims(x), dnnl_dt::u8, dnnl_tag::acdb);
    const dnnl::memory::desc dst({x[0], x[1], hw[0], hw[1]}, dnnl_dt::u8,
                                 dnnl_tag::acdb);
    dnnl::pooling_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src,
        dst, {strides[0], strides[1]}, {kernel[0], kernel[1]}, {0, 0}, {0, 0});
    dnnl::pooling_forward::primitive_desc pd(d, KernelAttr(), CpuEngine());
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    c.RequestInputLayout(0, src);
    c.SetOutputLayout(0, dst);
    k.AddInput(DNNL_ARG_SRC, 0, src);
    k.AddOutput(DNNL_ARG_DST, 0, dst);
    k.SetPrimitive(dnnl::pooling_forward(pd), pd);
    return absl::OkStatus();
  });
}

// The attributes QuantizedConv2D and QuantizedDense share.
OpSchema& DeclareLayerAttrs(OpSchema& schema) {
  return schema.Attr("input_scale", AttrType::kFloat)
      .Attr("output_scale", AttrType::kFloat, FloatAttr(1.0f))
      .Attr("output_type", AttrType::kDType, DTypeAttr(DType::kU8))
      .Attr("activation", AttrType::kString, StringAttr("linear"))
      .Attr("bias_variable", AttrType::kString);
}

const bool kRegistered = [] {
  OpSchema quantize("Quantize");
  quantize.Input("x", {DType::kF32})
      .Output("y")
      .Attr("scale", AttrType::kFloat)
      .SetShapeFn([](const ShapeContext& c) -> SpecList {
        NABLA_RETURN_IF_ERROR(CheckScale(c, "scale"));
        return std::vector<TensorSpec>{{DType::kU8, c.input_shape(0)}};
      })
      .SetKernel([](const KernelContext& c) {
        return MakeScaleReorderKernel(c, 1.0f / c.GetFloat("scale"));
      })
      .NotDifferentiable();
  OpRegistry::Global().Register(std::move(quantize));

  OpSchema dequantize("Dequantize");
  dequantize.Input("x", {DType::kU8})
      .Output("y")
      .Attr("scale", AttrType::kFloat)
      .SetShapeFn([](const ShapeContext& c) -> SpecList {
        NABLA_RETURN_IF_ERROR(CheckScale(c, "scale"));
        return std::vector<TensorSpec>{{DType::kF32, c.input_shape(0)}};
      })
      .SetKernel([](const KernelContext& c) {
        return MakeScaleReorderKernel(c, c.GetFloat("scale"));
      })
      .NotDifferentiable();
  OpRegistry::Global().Register(std::move(dequantize));

  OpSchema conv("QuantizedConv2D");
  conv.Input("x", {DType::kU8}).Input("filters").Input("bias").Output("y");
  DeclareLayerAttrs(conv)
      .Attr("filters_variable", AttrType::kString)
      .Attr("strides", AttrType::kInts, IntsAttr({1, 1}))
      .Attr("dilations", AttrType::kInts, IntsAttr({1, 1}))
      .Attr("padding", AttrType::kString, StringAttr("valid"))
      .SetShapeFn(QuantizedConvShapeFn)
      .SetKernel(MakeQuantizedConvKernel)
      .NotDifferentiable();
  OpRegistry::Global().Register(std::move(conv));

  OpSchema dense("QuantizedDense");
  dense.Input("x", {DType::kU8}).Input("w").Input("bias").Output("y");
  DeclareLayerAttrs(dense)
      .Attr("weights_variable", AttrType::kString)
      .SetShapeFn(QuantizedDenseShapeFn)
      .SetKernel(MakeQuantizedDenseKernel)
      .NotDifferentiable();
  OpRegistry::Global().Register(std::move(dense));

  OpSchema pool("QuantizedMaxPool2D");
  pool.Input("x", {DType::kU8})
      .Output("y")
      .Attr("kernel", AttrType::kInts)
      .Attr("strides", AttrType::kInts)
      .SetShapeFn(QuantizedMaxPoolShapeFn)
      .SetKernel(MakeQuantizedMaxPoolKernel)
      .NotDifferentiable();
  OpRegistry::Global().Register(std::move(pool));
  return true;
}();

// The name of the Variable node `v` is, or "" (and the builder fails).
std::string VariableName(const Output& v, absl::string_view what) {
  if (!v.valid()) return "";
  const Node& node = v.builder()->graph().node(v.ref().node);
  if (node.op() != "Variable") {
    v.builder()->Fail(absl::InvalidArgumentError(absl::StrCat(
        what, " of a quantized layer must be a Variable, got ", node.op(),
        " node '", node.name, "'")));
    return "";
  }
  return node.name;
}

AttrMap LayerAttrs(const QuantizedOptions& options, const Output& bias) {
  return {{"input_scale", FloatAttr(options.input_scale)},
          {"output_scale", FloatAttr(options.output_scale)},
          {"output_type", DTypeAttr(options.output_type)},
          {"activation", StringAttr(options.relu ? "relu" : "linear")},
          {"bias_variable", StringAttr(VariableName(bias, "bias"))}};
}

}  // namespace

int Int8WeightLimit() {
  static const int limit = [] {
    switch (dnnl::get_effective_cpu_isa()) {
      case dnnl::cpu_isa::avx2_vnni:
      case dnnl::cpu_isa::avx512_core_vnni:
      case dnnl::cpu_isa::avx512_core_bf16:
      case dnnl::cpu_isa::avx512_core_amx:
        return 127;
      default:
        return 63;
    }
  }();
  return limit;
}

PerChannelWeights QuantizeWeightsPerChannel(const float* data, int64_t channels,
                                            int64_t per_channel,
                                            int64_t channel_stride,
                                            int64_t element_stride, int limit) {
  const float level = static_cast<float>(limit);
  PerChannelWeights q;
  q.values.resize(channels * per_channel);
  q.scales.resize(channels);
  for (int64_t o = 0; o < channels; ++o) {
    const float* w = data + o * channel_stride;
    float max_abs = 0;
    for (int64_t k = 0; k < per_channel; ++k) {
      max_abs = std::max(max_abs, std::fabs(w[k * element_stride]));
    }
    const float scale = max_abs > 0 ? max_abs / level : 1.0f;
    q.scales[o] = scale;
    for (int64_t k = 0; k < per_channel; ++k) {
      const float v = std::nearbyint(w[k * element_stride] / scale);
      q.values[o * per_channel + k] =
          static_cast<int8_t>(std::min(level, std::max(-level, v)));
    }
  }
  return q;
}

Output Quantize(Output x, float scale, absl::string_view name) {
  return MakeOp("Quantize", {x}, {{"scale", FloatAttr(scale)}}, name);
}

Output Dequantize(Output x, float scale, absl::string_view name) {
  return MakeOp("Dequantize", {x}, {{"scale", FloatAttr(scale)}}, name);
}

Output QuantizedConv2D(Output x, Output filters, Output bias,
                       const QuantizedOptions& options,
                       absl::string_view name) {
  AttrMap attrs = LayerAttrs(options, bias);
  attrs["filters_variable"] = StringAttr(VariableName(filters, "filters"));
  attrs["strides"] = IntsAttr(options.strides);
  attrs["dilations"] = IntsAttr(options.dilations);
  attrs["padding"] = StringAttr(options.padding);
  return MakeOp("QuantizedConv2D", {x, filters, bias}, std::move(attrs), name);
}

Output QuantizedDense(Output x, Output w, Output bias,
                      const QuantizedOptions& options, absl::string_view name) {
  AttrMap attrs = LayerAttrs(options, bias);
  attrs["weights_variable"] = StringAttr(VariableName(w, "w"));
  return MakeOp("QuantizedDense", {x, w, bias}, std::move(attrs), name);
}

Output QuantizedMaxPool2D(Output x, std::vector<int64_t> kernel,
                          std::vector<int64_t> strides,
                          absl::string_view name) {
  return MakeOp("QuantizedMaxPool2D", {x},
                {{"kernel", IntsAttr(kernel)}, {"strides", IntsAttr(strides)}},
                name);
}

}  // namespace nabla
