// Dense (matmul + bias + optional ReLU) and MatMul.

#include "ops/dense.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/op_registry.h"
#include "ops/arith.h"
#include "ops/dnnl_util.h"

namespace nabla {
namespace {

using SpecList = absl::StatusOr<std::vector<TensorSpec>>;

// A row-major [rows, cols] matrix seen transposed: [cols, rows] with swapped
// strides, which oneDNN's matmul reads without a copy.
dnnl::memory::desc MatrixDesc(int64_t rows, int64_t cols, bool transposed) {
  if (!transposed) return dnnl::memory::desc({rows, cols}, dnnl_dt::f32, {cols, 1});
  return dnnl::memory::desc({cols, rows}, dnnl_dt::f32, {1, cols});
}

class MatMulKernel : public Kernel {
 public:
  // src [M,K] (stored transposed if ta), weights [K,N] (likewise), optional
  // bias [N], dst [M,N].
  static absl::StatusOr<std::unique_ptr<Kernel>> Create(
      absl::string_view what, const Shape& a, bool ta, const Shape& b, bool tb,
      bool bias, bool relu) {
    auto k = std::make_unique<MatMulKernel>();
    k->has_bias_ = bias;
    int64_t m = ta ? a[1] : a[0], n = tb ? b[0] : b[1];
    if (m == 0 || n == 0) return std::unique_ptr<Kernel>(std::move(k));
    NABLA_RETURN_IF_ERROR(CallDnnl(what, [&] {
      auto src = MatrixDesc(a[0], a[1], ta);
      auto weights = MatrixDesc(b[0], b[1], tb);
      auto dst = MatrixDesc(m, n, false);
      dnnl::primitive_attr attr;
      if (relu) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        attr.set_post_ops(ops);
      }
      dnnl::memory::desc bias_desc;
      if (bias) bias_desc = dnnl::memory::desc({1, n}, dnnl_dt::f32, {n, 1});
      dnnl::matmul::desc d = bias ? dnnl::matmul::desc(src, weights, bias_desc, dst)
                                  : dnnl::matmul::desc(src, weights, dst);
      dnnl::matmul::primitive_desc pd(d, KernelAttr(attr), CpuEngine());
      k->primitive_ = dnnl::matmul(pd);
      k->scratchpad_ = Scratchpad(pd);
      k->src_ = UnboundMemory(src);
      k->weights_ = UnboundMemory(weights);
      k->dst_ = UnboundMemory(dst);
      if (bias) k->bias_ = UnboundMemory(bias_desc);
    }));
    return std::unique_ptr<Kernel>(std::move(k));
  }

  absl::Status Compute(const KernelArgs& args) override {
    if (!primitive_) return absl::OkStatus();
    Bind(src_, args.input(0));
    Bind(weights_, args.input(1));
    Bind(dst_, args.output(0));
    if (has_bias_) {
      Bind(bias_, args.input(2));
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                     {DNNL_ARG_SRC, src_},
                                       {DNNL_ARG_WEIGHTS, weights_},
                                       {DNNL_ARG_BIAS, bias_},
                                       {DNNL_ARG_DST, dst_}});
    } else {
      ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                     {DNNL_ARG_SRC, src_},
                                       {DNNL_ARG_WEIGHTS, weights_},
                                       {DNNL_ARG_DST, dst_}});
    }
    return absl::OkStatus();
  }

 private:
  bool has_bias_ = false;
  dnnl::matmul primitive_;
  Scratchpad scratchpad_;
  dnnl::memory src_, weights_, bias_, dst_;
};

absl::string_view ActivationName(Activation activation) {
  return activation == Activation::kRelu ? "relu" : "linear";
}

absl::Status CheckRank2(const ShapeContext& c, int i, absl::string_view what) {
  if (c.input_shape(i).rank() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be rank 2, got ", c.input_shape(i).ToString()));
  }
  return absl::OkStatus();
}

NABLA_REGISTER_OP(
    OpSchema("Dense")
        .Input("x")
        .Input("w")
        .Input("bias")
        .Output("y")
        .Attr("activation", AttrType::kString, StringAttr("linear"))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckRank2(c, 0, "x"));
          NABLA_RETURN_IF_ERROR(CheckRank2(c, 1, "w"));
          const Shape& x = c.input_shape(0);
          const Shape& w = c.input_shape(1);
          const Shape& bias = c.input_shape(2);
          const std::string& activation = c.GetString("activation");
          if (activation != "linear" && activation != "relu") {
            return absl::InvalidArgumentError(absl::StrCat(
                "activation must be \"linear\" or \"relu\", got \"",
                activation, "\""));
          }
          if (!DimsAgree(x[1], w[0])) {
            return absl::InvalidArgumentError(absl::StrCat(
                "x has ", x[1], " features but w expects ", w[0]));
          }
          if (bias.rank() != 1 || !DimsAgree(bias[0], w[1])) {
            return absl::InvalidArgumentError(absl::StrCat(
                "bias must be [", w[1], "], got ", bias.ToString()));
          }
          return std::vector<TensorSpec>{{DType::kF32, Shape({x[0], w[1]})}};
        })
        .SetKernel([](const KernelContext& c) {
          return MatMulKernel::Create("Dense", c.input_shape(0), false,
                                      c.input_shape(1), false, true,
                                      c.GetString("activation") == "relu");
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          // Unique names: a graph may be differentiated more than once.
          GraphBuilder* b = g.builder();
          Output dz = g.dy(0);
          if (g.GetString("activation") == "relu") {
            dz = ReluGrad(dz, g.y(0), b->UniqueName(g.GradName("relu")));
          }
          return std::vector<Output>{
              MatMul(dz, g.x(1), false, true, b->UniqueName(g.GradName("dx"))),
              MatMul(g.x(0), dz, true, false, b->UniqueName(g.GradName("dw"))),
              Sum(dz, {0}, false, b->UniqueName(g.GradName("dbias")))};
        }));

NABLA_REGISTER_OP(
    OpSchema("MatMul")
        .Input("a")
        .Input("b")
        .Output("product")
        .Attr("transpose_a", AttrType::kBool, BoolAttr(false))
        .Attr("transpose_b", AttrType::kBool, BoolAttr(false))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckRank2(c, 0, "a"));
          NABLA_RETURN_IF_ERROR(CheckRank2(c, 1, "b"));
          bool ta = c.GetBool("transpose_a"), tb = c.GetBool("transpose_b");
          const Shape& a = c.input_shape(0);
          const Shape& b = c.input_shape(1);
          int64_t m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1];
          int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
          if (!DimsAgree(ka, kb)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "inner dimensions differ: ", ka, " and ", kb));
          }
          return std::vector<TensorSpec>{{DType::kF32, Shape({m, n})}};
        })
        .SetKernel([](const KernelContext& c) {
          return MatMulKernel::Create("MatMul", c.input_shape(0),
                                      c.GetBool("transpose_a"),
                                      c.input_shape(1),
                                      c.GetBool("transpose_b"), false, false);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          bool ta = g.GetBool("transpose_a"), tb = g.GetBool("transpose_b");
          Output a = g.x(0), b = g.x(1), dy = g.dy(0);
          Output da, db;
          if (!ta && !tb) {
            da = MatMul(dy, b, false, true);
            db = MatMul(a, dy, true, false);
          } else if (ta && !tb) {
            da = MatMul(b, dy, false, true);
            db = MatMul(a, dy, false, false);
          } else if (!ta && tb) {
            da = MatMul(dy, b, false, false);
            db = MatMul(dy, a, true, false);
          } else {
            da = MatMul(b, dy, true, true);
            db = MatMul(dy, a, true, true);
          }
          return std::vector<Output>{da, db};
        }));

}  // namespace

Output Dense(Output x, Output w, Output bias, Activation activation,
             absl::string_view name) {
  return MakeOp("Dense", {x, w, bias},
                {{"activation", StringAttr(ActivationName(activation))}}, name);
}

Output MatMul(Output a, Output b, bool transpose_a, bool transpose_b,
              absl::string_view name) {
  return MakeOp("MatMul", {a, b},
                {{"transpose_a", BoolAttr(transpose_a)},
                 {"transpose_b", BoolAttr(transpose_b)}},
                name);
}

}  // namespace nabla
