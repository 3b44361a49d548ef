// BatchNorm and its gradient op BatchNormGrad (formulas in
// ops/normalization.h).
//
// Both run one oneDNN batch normalization primitive (use_scale and
// use_shift: gamma and beta stay two [C] tensors instead of the legacy
// packed [2, C] scale_shift, which would need a copy every step). The
// forward kernel then updates the running statistics in training, or copies
// them to its mean and variance outputs in inference. The kernels work in
// the layout x arrives in when oneDNN's JIT kernels take it (a
// convolution's blocked output, NHWC), so conv > BN > ReLU runs without
// reorders.

#include "ops/normalization.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;
using KernelOr = absl::StatusOr<std::unique_ptr<Kernel>>;

constexpr char kLinear[] = "linear";
constexpr char kRelu[] = "relu";

// The attributes of a batch normalization op, checked.
struct BatchNormAttrs {
  float epsilon = 1e-3f;
  float momentum = 0.99f;
  bool relu = false;
};

absl::StatusOr<BatchNormAttrs> ReadAttrs(const AttrReader& attrs,
                                         bool with_momentum) {
  BatchNormAttrs a;
  a.epsilon = attrs.GetFloat("epsilon");
  if (!(a.epsilon > 0) || !std::isfinite(a.epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("epsilon must be positive, got ", a.epsilon));
  }
  if (with_momentum) {
    a.momentum = attrs.GetFloat("momentum");
    if (!(a.momentum >= 0 && a.momentum <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("momentum must lie in [0, 1], got ", a.momentum));
    }
  }
  const std::string& activation = attrs.GetString("activation");
  if (activation != kLinear && activation != kRelu) {
    return absl::InvalidArgumentError(absl::StrCat(
        "activation must be \"linear\" or \"relu\", got \"", activation, "\""));
  }
  a.relu = activation == kRelu;
  return a;
}

// x must be [N, C] or [N, C, H, W] with positive sizes but the batch.
absl::Status CheckData(const Shape& x, absl::string_view what) {
  if (x.rank() != 2 && x.rank() != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be rank 2 [N, C] or rank 4 [N, C, H, W], got ",
        x.ToString()));
  }
  for (int i = 1; i < x.rank(); ++i) {
    if (x[i] == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " must have positive sizes but the batch, got ", x.ToString()));
    }
  }
  return absl::OkStatus();
}

// Checks that inputs `first`.. of `names` are [C], one value per channel
// of x; returns C (kUnknownDim if no input knows it).
absl::StatusOr<int64_t> CheckPerChannel(
    const ShapeContext& c, const Shape& x, int first,
    std::initializer_list<const char*> names) {
  int64_t channels = x[1];
  int i = first;
  for (const char* name : names) {
    const Shape& shape = c.input_shape(i++);
    if (shape.rank() != 1 || !DimsAgree(shape[0], channels)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, " must be [",
          channels == kUnknownDim ? "C" : absl::StrCat(channels),
          "] (one value per channel of ", x.ToString(), "), got ",
          shape.ToString()));
    }
    if (channels == kUnknownDim) channels = shape[0];
  }
  return channels;
}

// The workspace a fused ReLU leaves for the gradient: at most one byte per
// element of x (oneDNN's JIT kernels keep one bit, its plain-layout kernel
// one byte), and nothing without the ReLU.
TensorSpec WorkspaceSpec(const Shape& x, bool relu) {
  return {DType::kU8, relu ? x : Shape({0})};
}

// Inputs x, scale, shift, running_mean, running_variance; outputs y, mean,
// variance, workspace.
SpecList BatchNormShapeFn(const ShapeContext& c) {
  NABLA_ASSIGN_OR_RETURN(BatchNormAttrs a, ReadAttrs(c, true));
  const Shape& x = c.input_shape(0);
  NABLA_RETURN_IF_ERROR(CheckData(x, "x"));
  NABLA_ASSIGN_OR_RETURN(
      int64_t channels,
      CheckPerChannel(c, x, 1,
                      {"scale", "shift", "running_mean", "running_variance"}));
  const Shape stats({channels});
  return std::vector<TensorSpec>{{DType::kF32, x.WithDim(1, channels)},
                                 {DType::kF32, stats},
                                 {DType::kF32, stats},
                                 WorkspaceSpec(x, a.relu)};
}

// Inputs dy, x, scale, mean, variance, workspace; outputs dx, dscale,
// dshift.
SpecList BatchNormGradShapeFn(const ShapeContext& c) {
  NABLA_ASSIGN_OR_RETURN(BatchNormAttrs a, ReadAttrs(c, false));
  const Shape& dy = c.input_shape(0);
  const Shape& x = c.input_shape(1);
  NABLA_RETURN_IF_ERROR(CheckData(x, "x"));
  if (!dy.IsCompatibleWith(x)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dy is ", dy.ToString(), " but x is ", x.ToString()));
  }
  NABLA_ASSIGN_OR_RETURN(
      int64_t channels,
      CheckPerChannel(c, x, 2, {"scale", "mean", "variance"}));
  const TensorSpec& workspace = c.input(5);
  const TensorSpec expected = WorkspaceSpec(x, a.relu);
  if (workspace.dtype != DType::kU8 ||
      !workspace.shape.IsCompatibleWith(expected.shape)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "workspace must be ", expected.ToString(),
        " (output 3 of the BatchNorm node), got ", workspace.ToString()));
  }
  Shape dx = x.WithDim(1, channels);
  if (dx[0] == kUnknownDim) dx = dx.WithDim(0, dy[0]);
  return std::vector<TensorSpec>{{DType::kF32, dx},
                                 {DType::kF32, Shape({channels})},
                                 {DType::kF32, Shape({channels})}};
}

// The layout the kernels run in: the one x arrives in where oneDNN's JIT
// kernels take it (channel-blocked as a convolution writes, or NHWC), plain
// otherwise. Forward and gradient choose alike from the same x, so the
// gradient reads the workspace in the layout it was written for.
Layout DataLayout(const Layout& arriving, const Shape& x) {
  if (x.rank() == 4) {
    for (dnnl_tag tag :
         {dnnl_tag::aBcd16b, dnnl_tag::aBcd8b, dnnl_tag::acdb}) {
      if (arriving == dnnl::memory::desc(DnnlDims(x), dnnl_dt::f32, tag)) {
        return arriving;
      }
    }
  }
  return PlainLayout(x);
}

dnnl::normalization_flags Flags(const BatchNormAttrs& a, bool global_stats) {
  dnnl::normalization_flags flags = dnnl::normalization_flags::use_scale |
                                    dnnl::normalization_flags::use_shift;
  if (a.relu) flags |= dnnl::normalization_flags::fuse_norm_relu;
  if (global_stats) flags |= dnnl::normalization_flags::use_global_stats;
  return flags;
}

// Values per channel: N, or N * H * W.
int64_t ValuesPerChannel(const Shape& x) {
  int64_t m = x[0];
  for (int i = 2; i < x.rank(); ++i) m *= x[i];
  return m;
}

// The statistics oneDNN reads or writes must be plain [C] floats, which
// the update loops below index directly.
absl::Status CheckStatsLayout(const dnnl::memory::desc& desc, int64_t channels,
                              absl::string_view what) {
  if (!(desc == PlainLayout(Shape({channels})))) {
    return absl::InternalError(absl::StrCat(
        what, ": oneDNN's batch statistics are not plain [", channels, "]"));
  }
  return absl::OkStatus();
}

// The workspace travels between the kernels as the plain u8 value the op
// declares (so that it needs no reorder and can be fetched and fed, as the
// benchmarks do), holding oneDNN's workspace in its first bytes; both
// kernels choose the same data layout (DataLayout), so the gradient reads
// the bytes as they were written. The declared value must hold them.
absl::Status CheckWorkspace(const dnnl::memory::desc& asked,
                            const TensorSpec& declared,
                            absl::string_view what) {
  if (asked.data_type() != dnnl_dt::u8 ||
      LayoutBytes(asked) >
          static_cast<size_t>(declared.shape.NumElements())) {
    return absl::InternalError(absl::StrCat(
        what, ": oneDNN's fused-ReLU workspace (", LayoutBytes(asked),
        " bytes) does not fit the declared ", declared.ToString()));
  }
  return absl::OkStatus();
}

// The forward kernel: the primitive, then the running statistics. In
// training they are updated in place (inputs 3 and 4, Variables) from the
// batch statistics the primitive wrote to outputs 1 and 2; in inference
// they are copied to outputs 1 and 2 where the plan reads those.
class BatchNormForwardKernel : public Kernel {
 public:
  BatchNormForwardKernel(std::unique_ptr<Kernel> primitive, bool training,
                         float momentum, int64_t values_per_channel,
                         bool copy_mean, bool copy_variance)
      : primitive_(std::move(primitive)),
        training_(training),
        momentum_(momentum),
        // m / (m - 1) turns the biased batch variance into the unbiased one.
        bessel_(values_per_channel > 1
                    ? static_cast<float>(
                          static_cast<double>(values_per_channel) /
                          (values_per_channel - 1))
                    : 1.f),
        copy_mean_(copy_mean),
        copy_variance_(copy_variance) {}

  absl::Status Compute(const KernelArgs& args) override {
    NABLA_RETURN_IF_ERROR(primitive_->Compute(args));
    const Tensor& running_mean = args.input(3);
    const Tensor& running_variance = args.input(4);
    const int64_t channels = running_mean.num_elements();
    if (training_) {
      float* rm = running_mean.data<float>();
      float* rv = running_variance.data<float>();
      const float* mean = args.output(1).data<float>();
      const float* variance = args.output(2).data<float>();
      const float keep = momentum_, take = 1.f - momentum_;
      for (int64_t c = 0; c < channels; ++c) {
        rm[c] = keep * rm[c] + take * mean[c];
        rv[c] = keep * rv[c] + take * (variance[c] * bessel_);
      }
      return absl::OkStatus();
    }
    if (copy_mean_) {
      std::memcpy(args.output(1).raw_data(), running_mean.raw_data(),
                  running_mean.nbytes());
    }
    if (copy_variance_) {
      std::memcpy(args.output(2).raw_data(), running_variance.raw_data(),
                  running_variance.nbytes());
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<Kernel> primitive_;
  bool training_;
  float momentum_;
  float bessel_;
  bool copy_mean_;
  bool copy_variance_;
};

KernelOr MakeBatchNormKernel(const KernelContext& c) {
  NABLA_ASSIGN_OR_RETURN(BatchNormAttrs a, ReadAttrs(c, true));
  const Shape& x = c.input_shape(0);
  const int64_t channels = x[1];
  const int64_t m = ValuesPerChannel(x);
  const bool training = c.training();
  if (training && m < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training needs at least 2 values per channel to estimate a "
        "variance, but x ",
        x.ToString(), " has ", m));
  }
  const Layout layout = DataLayout(c.input_layout(0), x);
  // In inference the workspace is written only for a gradient (a plan
  // compiled in RunMode::kInference that differentiates).
  const bool with_workspace = a.relu && (training || c.output_used(3));
  std::unique_ptr<Kernel> primitive;
  if (m == 0) {
    primitive = EmptyKernel();
  } else {
    const dnnl::prop_kind prop = training || with_workspace
                                     ? dnnl::prop_kind::forward_training
                                     : dnnl::prop_kind::forward_inference;
    NABLA_ASSIGN_OR_RETURN(
        primitive,
        MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
          dnnl::batch_normalization_forward::desc d(
              prop, layout, a.epsilon, Flags(a, /*global_stats=*/!training));
          dnnl::batch_normalization_forward::primitive_desc pd(
              d, KernelAttr(), CpuEngine());
          NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
          NABLA_RETURN_IF_ERROR(
              CheckStatsLayout(pd.mean_desc(), channels, c.op()));
          NABLA_RETURN_IF_ERROR(
              CheckStatsLayout(pd.variance_desc(), channels, c.op()));
          const Layout stats = PlainLayout(Shape({channels}));
          c.RequestInputLayout(0, pd.src_desc());
          c.SetOutputLayout(0, pd.dst_desc());
          k.AddInput(DNNL_ARG_SRC, 0, pd.src_desc());
          k.AddInput(DNNL_ARG_SCALE, 1, stats);
          k.AddInput(DNNL_ARG_SHIFT, 2, stats);
          if (training) {
            k.AddOutput(DNNL_ARG_MEAN, 1, stats);
            k.AddOutput(DNNL_ARG_VARIANCE, 2, stats);
          } else {
            k.AddInput(DNNL_ARG_MEAN, 3, stats);
            k.AddInput(DNNL_ARG_VARIANCE, 4, stats);
          }
          k.AddOutput(DNNL_ARG_DST, 0, pd.dst_desc());
          if (with_workspace) {
            NABLA_RETURN_IF_ERROR(
                CheckWorkspace(pd.workspace_desc(), c.output(3), c.op()));
            k.AddOutput(DNNL_ARG_WORKSPACE, 3, pd.workspace_desc());
          }
          k.SetPrimitive(dnnl::batch_normalization_forward(pd), pd);
          return absl::OkStatus();
        }));
  }
  return std::unique_ptr<Kernel>(std::make_unique<BatchNormForwardKernel>(
      std::move(primitive), training, a.momentum, m,
      !training && c.output_used(1), !training && c.output_used(2)));
}

// The gradient of a batch of no examples: no dx, and zeros for dscale and
// dshift.
class ZeroParamGradsKernel : public Kernel {
 public:
  absl::Status Compute(const KernelArgs& args) override {
    for (int i : {1, 2}) {
      std::memset(args.output(i).raw_data(), 0, args.output(i).nbytes());
    }
    return absl::OkStatus();
  }
};

KernelOr MakeBatchNormGradKernel(const KernelContext& c) {
  NABLA_ASSIGN_OR_RETURN(BatchNormAttrs a, ReadAttrs(c, false));
  const Shape& x = c.input_shape(1);
  const int64_t channels = x[1];
  if (ValuesPerChannel(x) == 0) {
    return std::unique_ptr<Kernel>(std::make_unique<ZeroParamGradsKernel>());
  }
  const bool training = c.training();
  const Layout layout = DataLayout(c.input_layout(1), x);
  return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) -> absl::Status {
    const dnnl::normalization_flags flags =
        Flags(a, /*global_stats=*/!training);
    dnnl::batch_normalization_forward::primitive_desc hint(
        dnnl::batch_normalization_forward::desc(
            dnnl::prop_kind::forward_training, layout, a.epsilon, flags),
        CpuEngine());
    dnnl::batch_normalization_backward::desc d(
        dnnl::prop_kind::backward, layout, layout, a.epsilon, flags);
    dnnl::batch_normalization_backward::primitive_desc pd(d, KernelAttr(),
                                                          CpuEngine(), hint);
    NABLA_RETURN_IF_ERROR(RequireOptimizedImpl(pd, c.op()));
    const Layout stats = PlainLayout(Shape({channels}));
    c.RequestInputLayout(0, pd.diff_dst_desc());
    c.RequestInputLayout(1, pd.src_desc());
    c.SetOutputLayout(0, pd.diff_src_desc());
    k.AddInput(DNNL_ARG_DIFF_DST, 0, pd.diff_dst_desc());
    k.AddInput(DNNL_ARG_SRC, 1, pd.src_desc());
    k.AddInput(DNNL_ARG_SCALE, 2, stats);
    // oneDNN 2.6 asks for the shift with use_shift, though the gradient does
    // not depend on it (the ReLU's mask is in the workspace); it is given
    // the scale's buffer, which it only reads.
    k.AddInput(DNNL_ARG_SHIFT, 2, stats);
    k.AddInput(DNNL_ARG_MEAN, 3, stats);
    k.AddInput(DNNL_ARG_VARIANCE, 4, stats);
    if (a.relu) {
      NABLA_RETURN_IF_ERROR(
          CheckWorkspace(pd.workspace_desc(), c.input(5), c.op()));
      k.AddInput(DNNL_ARG_WORKSPACE, 5, pd.workspace_desc());
    }
    k.AddOutput(DNNL_ARG_DIFF_SRC, 0, pd.diff_src_desc());
    k.AddOutput(DNNL_ARG_DIFF_SCALE, 1, stats);
    k.AddOutput(DNNL_ARG_DIFF_SHIFT, 2, stats);
    k.SetPrimitive(dnnl::batch_normalization_backward(pd), pd);
    return absl::OkStatus();
  });
}

GradResult BatchNormGradient(const GradContext& g) {
  if (g.has_dy(1) || g.has_dy(2)) {
    return absl::UnimplementedError(
        "no gradient flows through BatchNorm's batch mean and variance "
        "outputs (1 and 2); differentiate y only");
  }
  if (!g.has_dy(0)) return std::vector<Output>(5, Output());
  AttrMap attrs = {{"epsilon", g.attrs().at("epsilon")},
                   {"activation", g.attrs().at("activation")}};
  std::vector<Output> grads = MakeOpOutputs(
      "BatchNormGrad", {g.dy(0), g.x(0), g.x(1), g.y(1), g.y(2), g.y(3)},
      std::move(attrs), g.builder()->UniqueName(g.GradName("grad")));
  if (grads.size() != 3) return g.builder()->status();
  return std::vector<Output>{grads[0], grads[1], grads[2], Output(), Output()};
}

NABLA_REGISTER_OP(OpSchema("BatchNorm")
                      .Input("x")
                      .Input("scale")
                      .Input("shift")
                      .Input("running_mean")
                      .Input("running_variance")
                      .Output("y")
                      .Output("mean")
                      .Output("variance")
                      .Output("workspace")
                      .Attr("epsilon", AttrType::kFloat, FloatAttr(1e-3f))
                      .Attr("momentum", AttrType::kFloat, FloatAttr(0.99f))
                      .Attr("activation", AttrType::kString,
                            StringAttr(kLinear))
                      .SetShapeFn(BatchNormShapeFn)
                      .SetKernel(MakeBatchNormKernel)
                      .SetGradient(BatchNormGradient)
                      .WritesInput(3)
                      .WritesInput(4)
                      .DependsOnMode());

NABLA_REGISTER_OP(OpSchema("BatchNormGrad")
                      .Input("dy")
                      .Input("x")
                      .Input("scale")
                      .Input("mean")
                      .Input("variance")
                      .Input("workspace", {DType::kU8})
                      .Output("dx")
                      .Output("dscale")
                      .Output("dshift")
                      .Attr("epsilon", AttrType::kFloat, FloatAttr(1e-3f))
                      .Attr("activation", AttrType::kString,
                            StringAttr(kLinear))
                      .SetShapeFn(BatchNormGradShapeFn)
                      .SetKernel(MakeBatchNormGradKernel)
                      .DependsOnMode()
                      .IsGradientOp());

const char* ActivationName(Activation activation) {
  return activation == Activation::kRelu ? kRelu : kLinear;
}

}  // namespace

Output BatchNorm(Output x, Output scale, Output shift, Output running_mean,
                 Output running_variance, const BatchNormOptions& options,
                 absl::string_view name) {
  return MakeOp(
      "BatchNorm", {x, scale, shift, running_mean, running_variance},
      {{"epsilon", FloatAttr(options.epsilon)},
       {"momentum", FloatAttr(options.momentum)},
       {"activation", StringAttr(ActivationName(options.activation))}},
      name);
}

BatchNormLayer BatchNormWithVariables(Output x, const BatchNormOptions& options,
                                      absl::string_view name) {
  BatchNormLayer layer;
  GraphBuilder* b = x.builder();
  if (!x.valid() || !b->ok()) return layer;
  const Shape& shape = x.shape();
  if (shape.rank() < 2 || shape[1] == kUnknownDim) {
    b->Fail(absl::InvalidArgumentError(absl::StrCat(
        "BatchNormWithVariables of '", x.name(),
        "': its channels (dimension 1) must be known to size the variables, "
        "got ",
        shape.ToString())));
    return layer;
  }
  const std::string base =
      name.empty() ? b->UniqueName("batch_norm") : std::string(name);
  const Shape channels({shape[1]});
  layer.gamma = b->Variable(absl::StrCat(base, "/gamma"), channels,
                            Initializer::Constant(1.f));
  layer.beta = b->Variable(absl::StrCat(base, "/beta"), channels,
                           Initializer::Zeros());
  layer.moving_mean = b->Variable(absl::StrCat(base, "/moving_mean"), channels,
                                  Initializer::Zeros());
  layer.moving_variance = b->Variable(absl::StrCat(base, "/moving_variance"),
                                      channels, Initializer::Constant(1.f));
  layer.y = BatchNorm(x, layer.gamma, layer.beta, layer.moving_mean,
                      layer.moving_variance, options, base);
  return layer;
}

std::vector<Output> BatchNormGrad(Output dy, Output x, Output scale,
                                  Output mean, Output variance,
                                  Output workspace,
                                  const BatchNormOptions& options,
                                  absl::string_view name) {
  return MakeOpOutputs(
      "BatchNormGrad", {dy, x, scale, mean, variance, workspace},
      {{"epsilon", FloatAttr(options.epsilon)},
       {"activation", StringAttr(ActivationName(options.activation))}},
      name);
}

}  // namespace nabla
