// Add, Sub, Mul with broadcasting; Sum, Mean, SumTo and their gradient
// helper ReductionGrad; Cast; ZerosLike.

#include "ops/arith.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// `shape` with leading 1s up to `rank`.
Shape AlignTo(const Shape& shape, int rank) {
  Shape::Dims dims(rank - shape.rank(), 1);
  dims.insert(dims.end(), shape.dims().begin(), shape.dims().end());
  return Shape(absl::MakeConstSpan(dims));
}

// Row-major strides of `shape` aligned to `out`, with 0 where it broadcasts.
std::vector<int64_t> BroadcastStrides(const Shape& shape, const Shape& out) {
  Shape aligned = AlignTo(shape, out.rank());
  std::vector<int64_t> strides(out.rank(), 0);
  int64_t stride = 1;
  for (int i = out.rank() - 1; i >= 0; --i) {
    strides[i] = aligned[i] == 1 && out[i] != 1 ? 0 : stride;
    stride *= aligned[i];
  }
  return strides;
}

enum class BinaryKind { kAdd, kSub, kMul };

dnnl::algorithm BinaryAlgorithm(BinaryKind kind) {
  switch (kind) {
    case BinaryKind::kAdd:
      return dnnl::algorithm::binary_add;
    case BinaryKind::kSub:
      return dnnl::algorithm::binary_sub;
    case BinaryKind::kMul:
      return dnnl::algorithm::binary_mul;
  }
  return dnnl::algorithm::binary_add;
}

// oneDNN's binary primitive broadcasts only its second source; when the
// first one is the broadcast operand of a non-commutative op the general
// strided loop below runs instead.
class BinaryKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const KernelContext& c,
                                                        BinaryKind kind) {
    auto k = std::unique_ptr<BinaryKernel>(new BinaryKernel());
    k->kind_ = kind;
    const Shape& out = c.output_shape(0);
    Shape a = AlignTo(c.input_shape(0), out.rank());
    Shape b = AlignTo(c.input_shape(1), out.rank());
    k->swapped_ = a != out && b == out && kind != BinaryKind::kSub;
    k->use_dnnl_ = (a == out || k->swapped_) && out.NumElements() > 0;
    if (k->use_dnnl_) {
      const Shape& src1 = k->swapped_ ? a : b;
      NABLA_RETURN_IF_ERROR(CallDnnl("binary", [&] {
        dnnl::binary::desc desc(BinaryAlgorithm(kind), PlainDesc(out),
                                PlainDesc(src1), PlainDesc(out));
        dnnl::binary::primitive_desc pd(desc, KernelAttr(), CpuEngine());
        k->primitive_ = dnnl::binary(pd);
        k->scratchpad_ = Scratchpad(pd);
        k->src0_ = UnboundMemory(PlainDesc(out));
        k->src1_ = UnboundMemory(PlainDesc(src1));
        k->dst_ = UnboundMemory(PlainDesc(out));
      }));
    } else {
      k->out_shape_ = out;
      k->a_strides_ = BroadcastStrides(c.input_shape(0), out);
      k->b_strides_ = BroadcastStrides(c.input_shape(1), out);
    }
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    const Tensor& a = args.input(swapped_ ? 1 : 0);
    const Tensor& b = args.input(swapped_ ? 0 : 1);
    Tensor& out = args.output(0);
    if (use_dnnl_) {
      Bind(src0_, a);
      Bind(src1_, b);
      Bind(dst_, out);
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                     {DNNL_ARG_SRC_0, src0_},
                                       {DNNL_ARG_SRC_1, src1_},
                                       {DNNL_ARG_DST, dst_}});
      return absl::OkStatus();
    }
    StridedLoop(a.data<float>(), b.data<float>(), out.data<float>());
    return absl::OkStatus();
  }

 private:
  BinaryKernel() = default;

  void StridedLoop(const float* a, const float* b, float* out) const {
    const int rank = out_shape_.rank();
    const int64_t n = out_shape_.NumElements();
    std::vector<int64_t> index(rank, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < n; ++i) {
      switch (kind_) {
        case BinaryKind::kAdd:
          out[i] = a[ia] + b[ib];
          break;
        case BinaryKind::kSub:
          out[i] = a[ia] - b[ib];
          break;
        case BinaryKind::kMul:
          out[i] = a[ia] * b[ib];
          break;
      }
      for (int d = rank - 1; d >= 0; --d) {
        ia += a_strides_[d];
        ib += b_strides_[d];
        if (++index[d] < out_shape_[d]) break;
        ia -= a_strides_[d] * out_shape_[d];
        ib -= b_strides_[d] * out_shape_[d];
        index[d] = 0;
      }
    }
  }

  BinaryKind kind_ = BinaryKind::kAdd;
  bool swapped_ = false;
  bool use_dnnl_ = false;
  dnnl::binary primitive_;
  Scratchpad scratchpad_;
  dnnl::memory src0_, src1_, dst_;
  Shape out_shape_;
  std::vector<int64_t> a_strides_, b_strides_;
};

SpecList BroadcastShapeFn(const ShapeContext& c) {
  if (c.input(0).dtype != c.input(1).dtype) {
    return absl::InvalidArgumentError("operands have different dtypes");
  }
  NABLA_ASSIGN_OR_RETURN(Shape out,
                         BroadcastShapes(c.input_shape(0), c.input_shape(1)));
  return std::vector<TensorSpec>{{c.input(0).dtype, out}};
}

// The gradient of a broadcast operand sums over the dimensions it was
// stretched along.
Output ReduceToOperand(const GradContext& g, Output grad, int operand) {
  const Shape& shape = g.x_spec(operand).shape;
  if (shape == g.dy(0).shape() && shape.IsFullyDefined()) return grad;
  return SumTo(grad, shape, g.builder()->UniqueName(
                                g.GradName(absl::StrCat("sum_to_", operand))));
}

// Resolves reduction axes (negative counts from the end; empty means all).
// An axis named twice, even once as negative, is an error, as in NumPy:
// silently reducing once would hide a caller's off-by-one.
absl::StatusOr<std::vector<bool>> ReducedAxes(const std::vector<int64_t>& axes,
                                              int rank) {
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t axis : axes) {
    NABLA_ASSIGN_OR_RETURN(int a, ResolveAxis(axis, rank));
    if (reduced[a]) {
      return absl::InvalidArgumentError(
          absl::StrCat("axis ", axis, " repeats axis ", a, " in axes [",
                       absl::StrJoin(axes, ","), "]"));
    }
    reduced[a] = true;
  }
  return reduced;
}

SpecList ReductionShapeFn(const ShapeContext& c) {
  const Shape& in = c.input_shape(0);
  NABLA_ASSIGN_OR_RETURN(std::vector<bool> reduced,
                         ReducedAxes(c.GetInts("axes"), in.rank()));
  Shape::Dims dims;
  for (int i = 0; i < in.rank(); ++i) {
    if (!reduced[i]) {
      dims.push_back(in[i]);
    } else if (c.GetBool("keep_dims")) {
      dims.push_back(1);
    }
  }
  return std::vector<TensorSpec>{
      {DType::kF32, Shape(absl::MakeConstSpan(dims))}};
}

// Sums or averages src into dst, where dst is src's shape (aligned) with 1
// wherever it is reduced. When the reduced axes are adjacent (a bias
// gradient sums over the batch, a mean over everything) the reduction is
// [outer, reduced, inner] -> [outer, inner], a loop that vectorizes along
// `inner`; oneDNN 2.6 has only its reference reduction on AVX2, so other
// axis sets go to it and are expected to be small.
class ReduceKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(const Shape& src,
                                                        const Shape& dst_keep,
                                                        bool mean) {
    auto k = std::unique_ptr<ReduceKernel>(new ReduceKernel());
    k->mean_ = mean;
    int first = -1, last = -1;
    for (int i = 0; i < src.rank(); ++i) {
      if (dst_keep[i] != src[i]) {
        if (first < 0) first = i;
        last = i;
      }
    }
    bool adjacent = true;
    for (int i = std::max(first, 0); i <= last; ++i) {
      adjacent &= dst_keep[i] == 1 || src[i] == 1;
    }
    if (first < 0 || adjacent || src.NumElements() == 0) {
      k->outer_ = k->reduced_ = k->inner_ = 1;
      for (int i = 0; i < src.rank(); ++i) {
        if (first >= 0 && i < first) k->outer_ *= src[i];
        if (first >= 0 && i >= first && i <= last) k->reduced_ *= src[i];
        if (first < 0 || i > last) k->inner_ *= src[i];
      }
      return std::unique_ptr<Kernel>(std::move(k));
    }
    k->use_dnnl_ = true;
    NABLA_RETURN_IF_ERROR(CallDnnl("reduction", [&] {
      dnnl::reduction::desc desc(mean ? dnnl::algorithm::reduction_mean
                                      : dnnl::algorithm::reduction_sum,
                                 PlainDesc(src), PlainDesc(dst_keep), 0.f, 0.f);
      dnnl::reduction::primitive_desc pd(desc, KernelAttr(), CpuEngine());
      k->primitive_ = dnnl::reduction(pd);
      k->scratchpad_ = Scratchpad(pd);
      k->src_ = UnboundMemory(PlainDesc(src));
      k->dst_ = UnboundMemory(PlainDesc(dst_keep));
    }));
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    if (use_dnnl_) {
      Bind(src_, args.input(0));
      Bind(dst_, args.output(0));
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                       {DNNL_ARG_SRC, src_},
                                       {DNNL_ARG_DST, dst_}});
      return absl::OkStatus();
    }
    const float* src = args.input(0).data<float>();
    float* dst = args.output(0).data<float>();
    const int64_t outer = outer_, reduced = reduced_, inner = inner_;
    const float scale = mean_ && reduced > 0 ? 1.0f / reduced : 1.0f;
    // Threads split the outer rows when there are enough, else the columns.
    if (outer >= 8 || inner < 256) {
#pragma omp parallel for if (outer * reduced * inner > 32768)
      for (int64_t o = 0; o < outer; ++o) {
        SumRows(src + o * reduced * inner, reduced, inner, inner, 0, inner,
                scale, dst + o * inner);
      }
    } else {
      for (int64_t o = 0; o < outer; ++o) {
        const float* block = src + o * reduced * inner;
        float* out = dst + o * inner;
        constexpr int64_t kChunk = 256;
#pragma omp parallel for if (reduced * inner > 32768)
        for (int64_t begin = 0; begin < inner; begin += kChunk) {
          SumRows(block, reduced, inner, inner, begin,
                  std::min(inner, begin + kChunk), scale, out);
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  ReduceKernel() = default;

  // out[i] = scale * sum_r rows[r * stride + i] for i in [begin, end).
  static void SumRows(const float* rows, int64_t count, int64_t stride,
                      int64_t /*width*/, int64_t begin, int64_t end,
                      float scale, float* out) {
    for (int64_t i = begin; i < end; ++i) out[i] = 0;
    for (int64_t r = 0; r < count; ++r) {
      const float* row = rows + r * stride;
      for (int64_t i = begin; i < end; ++i) out[i] += row[i];
    }
    if (scale != 1.0f) {
      for (int64_t i = begin; i < end; ++i) out[i] *= scale;
    }
  }

  bool mean_ = false;
  bool use_dnnl_ = false;
  int64_t outer_ = 1, reduced_ = 1, inner_ = 1;
  dnnl::reduction primitive_;
  Scratchpad scratchpad_;
  dnnl::memory src_, dst_;
};

// The reduced shape with kept (size-1) axes, at src's rank.
Shape KeepDimsShape(const Shape& src, const std::vector<bool>& reduced) {
  Shape::Dims dims;
  for (int i = 0; i < src.rank(); ++i) dims.push_back(reduced[i] ? 1 : src[i]);
  return Shape(absl::MakeConstSpan(dims));
}

KernelFactory ReductionKernel(bool mean) {
  return
      [mean](
          const KernelContext& c) -> absl::StatusOr<std::unique_ptr<Kernel>> {
        const Shape& src = c.input_shape(0);
        NABLA_ASSIGN_OR_RETURN(std::vector<bool> reduced,
                               ReducedAxes(c.GetInts("axes"), src.rank()));
        if (src.rank() == 0) return ReduceKernel::Create(src, src, mean);
        return ReduceKernel::Create(src, KeepDimsShape(src, reduced), mean);
      };
}

// dx = broadcast(dy) (divided by the count of reduced elements for a mean).
class ReductionGradKernel : public Kernel {
 public:
  ReductionGradKernel(const Shape& dy_keep, const Shape& x, float scale)
      : x_shape_(x), strides_(BroadcastStrides(dy_keep, x)), scale_(scale) {}

  absl::Status Compute(const KernelArgs& args) override {
    const float* dy = args.input(0).data<float>();
    float* dx = args.output(0).data<float>();
    const int rank = x_shape_.rank();
    const int64_t n = x_shape_.NumElements();
    if (rank == 0) {
      if (n == 1) dx[0] = dy[0] * scale_;
      return absl::OkStatus();
    }
    std::vector<int64_t> index(rank, 0);
    int64_t offset = 0;
    for (int64_t i = 0; i < n; ++i) {
      dx[i] = dy[offset] * scale_;
      for (int d = rank - 1; d >= 0; --d) {
        offset += strides_[d];
        if (++index[d] < x_shape_[d]) break;
        offset -= strides_[d] * x_shape_[d];
        index[d] = 0;
      }
    }
    return absl::OkStatus();
  }

 private:
  Shape x_shape_;
  std::vector<int64_t> strides_;
  float scale_;
};

GradResult ReductionGradient(const GradContext& g, bool mean) {
  AttrMap attrs = {{"axes", IntsAttr(g.GetInts("axes"))},
                   {"mean", BoolAttr(mean)}};
  return std::vector<Output>{
      g.builder()->AddOp1("ReductionGrad", {g.dy(0), g.x(0)}, attrs,
                          g.builder()->UniqueName(g.GradName("broadcast")))};
}

OpSchema BinaryOp(const char* name, BinaryKind kind) {
  return OpSchema(name)
      .Input("a")
      .Input("b")
      .Output("out")
      .SetShapeFn(BroadcastShapeFn)
      .SetKernel([kind](const KernelContext& c) {
        return BinaryKernel::Create(c, kind);
      });
}

NABLA_REGISTER_OP(BinaryOp("Add", BinaryKind::kAdd)
                      .SetGradient([](const GradContext& g) -> GradResult {
                        return std::vector<Output>{
                            ReduceToOperand(g, g.dy(0), 0),
                            ReduceToOperand(g, g.dy(0), 1)};
                      }));

NABLA_REGISTER_OP(BinaryOp("Sub", BinaryKind::kSub)
                      .SetGradient([](const GradContext& g) -> GradResult {
                        Output minus_one = g.builder()->Scalar(
                            -1.0f,
                            g.builder()->UniqueName(g.GradName("minus_one")));
                        return std::vector<Output>{
                            ReduceToOperand(g, g.dy(0), 0),
                            ReduceToOperand(g, Mul(g.dy(0), minus_one), 1)};
                      }));

NABLA_REGISTER_OP(BinaryOp("Mul", BinaryKind::kMul)
                      .SetGradient([](const GradContext& g) -> GradResult {
                        return std::vector<Output>{
                            ReduceToOperand(g, Mul(g.dy(0), g.x(1)), 0),
                            ReduceToOperand(g, Mul(g.dy(0), g.x(0)), 1)};
                      }));

OpSchema ReductionOp(const char* name, bool mean) {
  return OpSchema(name)
      .Input("x")
      .Output("out")
      .Attr("axes", AttrType::kInts, IntsAttr({}))
      .Attr("keep_dims", AttrType::kBool, BoolAttr(false))
      .SetShapeFn(ReductionShapeFn)
      .SetKernel(ReductionKernel(mean))
      .SetGradient(
          [mean](const GradContext& g) { return ReductionGradient(g, mean); });
}

NABLA_REGISTER_OP(ReductionOp("Sum", false));
NABLA_REGISTER_OP(ReductionOp("Mean", true));

// dy reduced over `axes` of x; the output has x's shape. x is an input only
// for its shape, which may be known only when the plan is compiled.
NABLA_REGISTER_OP(
    OpSchema("ReductionGrad")
        .Input("dy")
        .Input("x")
        .Output("dx")
        .Attr("axes", AttrType::kInts, IntsAttr({}))
        .Attr("mean", AttrType::kBool, BoolAttr(false))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          return std::vector<TensorSpec>{{DType::kF32, c.input_shape(1)}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          const Shape& x = c.input_shape(1);
          NABLA_ASSIGN_OR_RETURN(std::vector<bool> reduced,
                                 ReducedAxes(c.GetInts("axes"), x.rank()));
          Shape keep = KeepDimsShape(x, reduced);
          if (keep.NumElements() != c.input(0).shape.NumElements()) {
            return absl::InvalidArgumentError(
                absl::StrCat("dy ", c.input_shape(0).ToString(),
                             " does not match x ", x.ToString(), " reduced"));
          }
          float scale = 1.0f;
          if (c.GetBool("mean") && keep.NumElements() > 0) {
            scale = static_cast<float>(keep.NumElements()) /
                    static_cast<float>(std::max<int64_t>(x.NumElements(), 1));
          }
          return std::unique_ptr<Kernel>(
              std::make_unique<ReductionGradKernel>(keep, x, scale));
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          // Linear in dy: its gradient is the same reduction of ddx.
          Output ddy = g.GetBool("mean")
                           ? Mean(g.dy(0), g.GetInts("axes"), true)
                           : Sum(g.dy(0), g.GetInts("axes"), true);
          return std::vector<Output>{SumTo(ddy, g.x_spec(0).shape), Output()};
        }));

NABLA_REGISTER_OP(
    OpSchema("SumTo")
        .Input("x")
        .Output("out")
        .Attr("shape", AttrType::kShape)
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          const Shape& in = c.input_shape(0);
          Shape target = c.GetShape("shape");
          if (target.rank() > in.rank()) {
            return absl::InvalidArgumentError(
                absl::StrCat("cannot sum ", in.ToString(),
                             " to the higher-rank ", target.ToString()));
          }
          Shape::Dims dims;
          int offset = in.rank() - target.rank();
          for (int i = 0; i < target.rank(); ++i) {
            int64_t t = target[i], s = in[offset + i];
            if (t == kUnknownDim) {
              dims.push_back(s);
            } else if (t == 1 || s == kUnknownDim || s == t) {
              dims.push_back(t);
            } else {
              return absl::InvalidArgumentError(absl::StrCat(
                  "cannot sum ", in.ToString(), " to ", target.ToString()));
            }
          }
          return std::vector<TensorSpec>{
              {DType::kF32, Shape(absl::MakeConstSpan(dims))}};
        })
        .SetKernel([](const KernelContext& c) {
          const Shape& src = c.input_shape(0);
          return ReduceKernel::Create(src,
                                      AlignTo(c.output_shape(0), src.rank()),
                                      /*mean=*/false);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          // Broadcasting back is ReductionGrad with every stretched axis.
          std::vector<int64_t> axes;
          const Shape& in = g.x_spec(0).shape;
          Shape target = AlignTo(g.y(0).shape(), in.rank());
          for (int i = 0; i < in.rank(); ++i) {
            if (target[i] == 1 && in[i] != 1) axes.push_back(i);
          }
          if (axes.empty()) return std::vector<Output>{g.dy(0)};
          Output keep = g.dy(0);
          return std::vector<Output>{g.builder()->AddOp1(
              "ReductionGrad",
              {g.builder()->AddOp1("Reshape", {keep},
                                   {{"shape", ShapeAttr(target)}}),
               g.x(0)},
              {{"axes", IntsAttr(axes)}, {"mean", BoolAttr(false)}})};
        }));

template <typename T>
void CastToFloat(const T* src, int64_t n, float scale, float* dst) {
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * scale;
}

NABLA_REGISTER_OP(
    OpSchema("Cast")
        .Input("x", {DType::kF32, DType::kI32, DType::kI64, DType::kU8})
        .Output("y")
        .Attr("scale", AttrType::kFloat, FloatAttr(1.0f))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          return std::vector<TensorSpec>{{DType::kF32, c.input_shape(0)}};
        })
        .SetKernel([](const KernelContext& c)
                       -> absl::StatusOr<std::unique_ptr<Kernel>> {
          float scale = c.GetFloat("scale");
          DType dtype = c.input(0).dtype;
          return FunctionKernel([scale, dtype](const KernelArgs& args) {
            const Tensor& x = args.input(0);
            float* y = args.output(0).data<float>();
            switch (dtype) {
              case DType::kF32:
                CastToFloat(x.data<float>(), x.num_elements(), scale, y);
                break;
              case DType::kI32:
                CastToFloat(x.data<int32_t>(), x.num_elements(), scale, y);
                break;
              case DType::kI64:
                CastToFloat(x.data<int64_t>(), x.num_elements(), scale, y);
                break;
              default:
                CastToFloat(x.data<uint8_t>(), x.num_elements(), scale, y);
                break;
            }
            return absl::OkStatus();
          })(c);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          // Only an f32 input has a gradient; integers are data.
          if (g.x_spec(0).dtype != DType::kF32) return std::vector<Output>{Output()};
          return std::vector<Output>{
              Cast(g.dy(0), g.GetFloat("scale"),
                   g.builder()->UniqueName(g.GradName("cast")))};
        }));

NABLA_REGISTER_OP(OpSchema("ZerosLike")
                      .Input("x", {DType::kF32, DType::kI32, DType::kI64})
                      .Output("zeros")
                      .SetShapeFn(SameAsInput(0))
                      .SetKernel(FunctionKernel([](const KernelArgs& args) {
                        Tensor& out = args.output(0);
                        std::memset(out.raw_data(), 0, out.nbytes());
                        return absl::OkStatus();
                      }))
                      .NotDifferentiable());

}  // namespace

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  int rank = std::max(a.rank(), b.rank());
  Shape pa = AlignTo(a, rank), pb = AlignTo(b, rank);
  Shape::Dims dims;
  for (int i = 0; i < rank; ++i) {
    int64_t x = pa[i], y = pb[i];
    if (x == y) {
      dims.push_back(x);
    } else if (x == 1) {
      dims.push_back(y);
    } else if (y == 1) {
      dims.push_back(x);
    } else if (x == kUnknownDim) {
      dims.push_back(y);
    } else if (y == kUnknownDim) {
      dims.push_back(x);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "shapes ", a.ToString(), " and ", b.ToString(), " do not broadcast"));
    }
  }
  return Shape(absl::MakeConstSpan(dims));
}

Output Add(Output a, Output b, absl::string_view name) {
  return MakeOp("Add", {a, b}, {}, name);
}
Output Sub(Output a, Output b, absl::string_view name) {
  return MakeOp("Sub", {a, b}, {}, name);
}
Output Mul(Output a, Output b, absl::string_view name) {
  return MakeOp("Mul", {a, b}, {}, name);
}
Output Sum(Output x, std::vector<int64_t> axes, bool keep_dims,
           absl::string_view name) {
  return MakeOp("Sum", {x},
                {{"axes", IntsAttr(axes)}, {"keep_dims", BoolAttr(keep_dims)}},
                name);
}
Output Mean(Output x, std::vector<int64_t> axes, bool keep_dims,
            absl::string_view name) {
  return MakeOp("Mean", {x},
                {{"axes", IntsAttr(axes)}, {"keep_dims", BoolAttr(keep_dims)}},
                name);
}
Output SumTo(Output x, const Shape& shape, absl::string_view name) {
  return MakeOp("SumTo", {x}, {{"shape", ShapeAttr(shape)}}, name);
}
Output Cast(Output x, float scale, absl::string_view name) {
  return MakeOp("Cast", {x}, {{"scale", FloatAttr(scale)}}, name);
}
Output ZerosLike(Output x, absl::string_view name) {
  return MakeOp("ZerosLike", {x}, {}, name);
}

}  // namespace nabla
