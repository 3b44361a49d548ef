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

absl::Status CheckAtLeastRank2(const ShapeContext& c, int i,
                               absl::string_view what) {
  if (c.input_shape(i).rank() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " must be of rank 2 or more, got ", c.input_shape(i).ToString()));
  }
  return absl::OkStatus();
}

// x [..., K] seen as the matrix [rows, K] of its last axis; x's compiled
// shape is fully known.
Shape Rows(const Shape& x) {
  int64_t rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) rows *= x[i];
  return Shape({rows, x[x.rank() - 1]});
}

Output RowsProduct(Output a, Output b, bool transpose_b,
                   absl::string_view name) {
  return MakeOp("RowsProduct", {a, b}, {{"transpose_b", BoolAttr(transpose_b)}},
                name);
}

Output RowsOuter(Output a, Output c, absl::string_view name) {
  return MakeOp("RowsOuter", {a, c}, {}, name);
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
          NABLA_RETURN_IF_ERROR(CheckAtLeastRank2(c, 0, "x"));
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
          if (!DimsAgree(x[x.rank() - 1], w[0])) {
            return absl::InvalidArgumentError(absl::StrCat(
                "x has ", x[x.rank() - 1], " features but w expects ", w[0]));
          }
          if (bias.rank() != 1 || !DimsAgree(bias[0], w[1])) {
            return absl::InvalidArgumentError(absl::StrCat(
                "bias must be [", w[1], "], got ", bias.ToString()));
          }
          return std::vector<TensorSpec>{
              {DType::kF32, x.WithDim(x.rank() - 1, w[1])}};
        })
        .SetKernel([](const KernelContext& c) {
          return MatMulKernel::Create("Dense", Rows(c.input_shape(0)), false,
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
          const int rank = g.x_spec(0).shape.rank();
          if (rank == 2) {
            return std::vector<Output>{
                MatMul(dz, g.x(1), false, true,
                       b->UniqueName(g.GradName("dx"))),
                MatMul(g.x(0), dz, true, false,
                       b->UniqueName(g.GradName("dw"))),
                Sum(dz, {0}, false, b->UniqueName(g.GradName("dbias")))};
          }
          // x [..., K]: every leading axis is a row of the product.
          std::vector<int64_t> leading;
          for (int i = 0; i < rank - 1; ++i) leading.push_back(i);
          return std::vector<Output>{
              RowsProduct(dz, g.x(1), true, b->UniqueName(g.GradName("dx"))),
              RowsOuter(g.x(0), dz, b->UniqueName(g.GradName("dw"))),
              Sum(dz, leading, false, b->UniqueName(g.GradName("dbias")))};
        }));

// The products Dense's gradient needs for x of rank above 2, on the rows
// of a [..., K] tensor (all axes but the last flattened, which costs no copy
// in the plain layout). Each is the other's gradient, so the pair can be
// differentiated again.

// RowsProduct: a [..., K] · b [K, M] -> [..., M], or a · bᵀ for b [M, K]
// with transpose_b.
NABLA_REGISTER_OP(
    OpSchema("RowsProduct")
        .Input("a")
        .Input("b")
        .Output("product")
        .Attr("transpose_b", AttrType::kBool, BoolAttr(false))
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckAtLeastRank2(c, 0, "a"));
          NABLA_RETURN_IF_ERROR(CheckRank2(c, 1, "b"));
          const Shape& a = c.input_shape(0);
          const Shape& b = c.input_shape(1);
          const bool tb = c.GetBool("transpose_b");
          int64_t kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
          if (!DimsAgree(a[a.rank() - 1], kb)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "inner dimensions differ: ", a[a.rank() - 1], " and ", kb));
          }
          return std::vector<TensorSpec>{
              {DType::kF32, a.WithDim(a.rank() - 1, n)}};
        })
        .SetKernel([](const KernelContext& c) {
          return MatMulKernel::Create("RowsProduct", Rows(c.input_shape(0)),
                                      false, c.input_shape(1),
                                      c.GetBool("transpose_b"), false, false);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          GraphBuilder* b = g.builder();
          const bool tb = g.GetBool("transpose_b");
          Output da = RowsProduct(g.dy(0), g.x(1), !tb,
                                  b->UniqueName(g.GradName("da")));
          Output db = tb ? RowsOuter(g.dy(0), g.x(0),
                                     b->UniqueName(g.GradName("db")))
                         : RowsOuter(g.x(0), g.dy(0),
                                     b->UniqueName(g.GradName("db")));
          return std::vector<Output>{da, db};
        }));

// RowsOuter: the sum over rows of aᵀ · c for a [..., K] and c [..., M] with
// the same leading axes -> [K, M].
NABLA_REGISTER_OP(
    OpSchema("RowsOuter")
        .Input("a")
        .Input("c")
        .Output("product")
        .SetShapeFn([](const ShapeContext& c) -> SpecList {
          NABLA_RETURN_IF_ERROR(CheckAtLeastRank2(c, 0, "a"));
          NABLA_RETURN_IF_ERROR(CheckAtLeastRank2(c, 1, "c"));
          const Shape& a = c.input_shape(0);
          const Shape& m = c.input_shape(1);
          bool same = a.rank() == m.rank();
          for (int i = 0; same && i < a.rank() - 1; ++i) {
            same = DimsAgree(a[i], m[i]);
          }
          if (!same) {
            return absl::InvalidArgumentError(
                absl::StrCat("a ", a.ToString(), " and c ", m.ToString(),
                             " must agree on every axis but the last"));
          }
          return std::vector<TensorSpec>{
              {DType::kF32, Shape({a[a.rank() - 1], m[m.rank() - 1]})}};
        })
        .SetKernel([](const KernelContext& c) {
          return MatMulKernel::Create("RowsOuter", Rows(c.input_shape(0)),
                                      true, Rows(c.input_shape(1)), false,
                                      false, false);
        })
        .SetGradient([](const GradContext& g) -> GradResult {
          GraphBuilder* b = g.builder();
          return std::vector<Output>{
              RowsProduct(g.x(1), g.dy(0), true,
                          b->UniqueName(g.GradName("da"))),
              RowsProduct(g.x(0), g.dy(0), false,
                          b->UniqueName(g.GradName("dc")))};
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
