// Dense (matmul + bias + optional ReLU) and MatMul.

#include "ops/dense.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

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

// Dense as oneDNN's inner product: x [M,K] by w [K,N] read as the [N,K]
// weights the primitive expects, in oneDNN's `io` order, which is w's own
// row-major layout: no copy, no reorder. At a few rows (batch-1 inference)
// its GEMV-shaped kernel beats matmul's; see ChooseDenseKernel.
class InnerProductKernel : public Kernel {
 public:
  static absl::StatusOr<std::unique_ptr<InnerProductKernel>> Create(
      int64_t m, int64_t k, int64_t n, bool relu) {
    auto kernel = std::make_unique<InnerProductKernel>();
    NABLA_RETURN_IF_ERROR(CallDnnl("Dense (inner product)", [&] {
      const dnnl::memory::desc src({m, k}, dnnl_dt::f32, {k, 1});
      const dnnl::memory::desc weights({n, k}, dnnl_dt::f32, {1, n});
      const dnnl::memory::desc bias({n}, dnnl_dt::f32, {1});
      const dnnl::memory::desc dst({m, n}, dnnl_dt::f32, {n, 1});
      dnnl::primitive_attr attr;
      if (relu) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        attr.set_post_ops(ops);
      }
      dnnl::inner_product_forward::primitive_desc pd(
          dnnl::inner_product_forward::desc(
              dnnl::prop_kind::forward_inference, src, weights, bias, dst),
          KernelAttr(attr), CpuEngine());
      kernel->primitive_ = dnnl::inner_product_forward(pd);
      kernel->scratchpad_ = Scratchpad(pd);
      kernel->src_ = UnboundMemory(src);
      kernel->weights_ = UnboundMemory(weights);
      kernel->bias_ = UnboundMemory(bias);
      kernel->dst_ = UnboundMemory(dst);
      kernel->impl_ = pd.impl_info_str();
    }));
    return kernel;
  }

  absl::Status Compute(const KernelArgs& args) override {
    Bind(src_, args.input(0));
    Bind(weights_, args.input(1));
    Bind(bias_, args.input(2));
    Bind(dst_, args.output(0));
    ExecutePrimitive(primitive_, {{DNNL_ARG_SCRATCHPAD, scratchpad_.memory()},
                                  {DNNL_ARG_SRC, src_},
                                  {DNNL_ARG_WEIGHTS, weights_},
                                  {DNNL_ARG_BIAS, bias_},
                                  {DNNL_ARG_DST, dst_}});
    return absl::OkStatus();
  }

  // The implementation oneDNN chose; a reference one is never used.
  const std::string& impl() const { return impl_; }

 private:
  dnnl::inner_product_forward primitive_;
  Scratchpad scratchpad_;
  dnnl::memory src_, weights_, bias_, dst_;
  std::string impl_;
};

// Up to this many rows the Dense kernel times matmul against the inner
// product when it is prepared; beyond, both run the same blocked GEMMs and
// matmul serves.
constexpr int64_t kMaxTimedRows = 64;

// The best of `repeats` wall-clock times of kernel->Compute(args), after two
// untimed runs, in seconds.
double BestTime(Kernel* kernel, const KernelArgs& args, int repeats) {
  for (int i = 0; i < 2; ++i) kernel->Compute(args).IgnoreError();
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    kernel->Compute(args).IgnoreError();
    best = std::min(best, std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
  }
  return best;
}

// Per process, the inner product's verdict for each timed shape (m, k, n,
// relu): one process gives the same shape the same kernel in every plan and
// session, so that two sessions' predictions agree bit for bit.
bool InnerProductWins(int64_t m, int64_t k, int64_t n, bool relu,
                      const std::function<bool()>& time_both) {
  static std::mutex* mu = new std::mutex;
  static auto* verdicts = new std::map<std::tuple<int64_t, int64_t, int64_t, bool>, bool>;
  std::lock_guard<std::mutex> lock(*mu);
  const auto key = std::make_tuple(m, k, n, relu);
  auto it = verdicts->find(key);
  if (it == verdicts->end()) it = verdicts->emplace(key, time_both()).first;
  return it->second;
}

// ChooseDenseKernel prepares Dense of x [M,K] by w [K,N] (+ bias, ReLU) as a
// matmul or, in an inference plan with few rows, as an inner product,
// whichever runs faster on this machine: the first time a process meets the
// shape, both are prepared and timed on zero-filled tensors of the node's
// shapes (best of 5 runs each; about 1 ms for the MNIST model's dense1 at
// batch 1), and the verdict is kept for the process. Training plans always
// take matmul, so that training stays bit-reproducible from one session to
// the next (a resumed run equals an uninterrupted one).
// NABLA_DENSE_KERNEL=matmul or =inner_product in the environment skips the
// timing (tests run both). Both compute the same sums, to rounding.
absl::StatusOr<std::unique_ptr<Kernel>> ChooseDenseKernel(const Shape& x,
                                                          const Shape& w,
                                                          bool relu,
                                                          bool training) {
  NABLA_ASSIGN_OR_RETURN(
      std::unique_ptr<Kernel> matmul,
      MatMulKernel::Create("Dense", x, false, w, false, true, relu));
  const int64_t m = x[0], k = x[1], n = w[1];
  const char* forced = std::getenv("NABLA_DENSE_KERNEL");
  const std::string choice = forced == nullptr ? "" : forced;
  if (choice == "matmul" || m == 0 || n == 0 || k == 0 ||
      (choice != "inner_product" && (training || m > kMaxTimedRows))) {
    return matmul;
  }
  absl::StatusOr<std::unique_ptr<InnerProductKernel>> inner =
      InnerProductKernel::Create(m, k, n, relu);
  // No inner product for this shape (or only oneDNN's reference one):
  // matmul it is.
  if (!inner.ok() || IsReferenceImpl((*inner)->impl())) return matmul;
  if (choice == "inner_product") return std::unique_ptr<Kernel>(*std::move(inner));
  const bool inner_wins = InnerProductWins(m, k, n, relu, [&] {
    std::vector<Tensor> tensors = {
        Tensor(DType::kF32, Shape({m, k})), Tensor(DType::kF32, Shape({k, n})),
        Tensor(DType::kF32, Shape({n})), Tensor(DType::kF32, Shape({m, n}))};
    for (Tensor& t : tensors) std::memset(t.raw_data(), 0, t.nbytes());
    const int inputs[] = {0, 1, 2};
    const int outputs[] = {3};
    const KernelArgs args(tensors.data(), inputs, outputs);
    constexpr int kRepeats = 5;
    const double matmul_seconds = BestTime(matmul.get(), args, kRepeats);
    const double inner_seconds = BestTime(inner->get(), args, kRepeats);
    return inner_seconds < matmul_seconds;
  });
  if (inner_wins) return std::unique_ptr<Kernel>(*std::move(inner));
  return matmul;
}

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
          return ChooseDenseKernel(Rows(c.input_shape(0)), c.input_shape(1),
                                   c.GetString("activation") == "relu",
                                   c.training());
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
