#include "bench/raw_dnnl.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "core/dnnl_context.h"

namespace nabla {
namespace bench {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using dt = memory::data_type;
using tag = memory::format_tag;

memory::desc Plain(const memory::dims& dims, tag t, dt type = dt::f32) {
  return memory::desc(dims, type, t);
}

memory::desc Any(const memory::dims& dims) {
  return memory::desc(dims, dt::f32, tag::any);
}

// A buffer oneDNN allocates (uninitialized).
memory New(const memory::desc& desc) { return memory(desc, CpuEngine()); }

// A zero-filled buffer.
memory Zeros(const memory::desc& desc) {
  memory m = New(desc);
  std::memset(m.get_data_handle(), 0, desc.get_size());
  return m;
}

// A plain f32 buffer with values uniform in [lo, hi).
memory Filled(const memory::desc& desc, uint64_t seed, float lo = -1.0f,
              float hi = 1.0f) {
  memory m = New(desc);
  FillUniform(static_cast<float*>(m.get_data_handle()),
              static_cast<int64_t>(desc.get_size() / sizeof(float)), seed, lo,
              hi);
  return m;
}

// A plain s32 buffer of class labels in [0, classes).
memory Labels(int64_t rows, int64_t classes, uint64_t seed) {
  memory m = New(Plain({rows}, tag::a, dt::s32));
  int32_t* p = static_cast<int32_t*>(m.get_data_handle());
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < rows; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = static_cast<int32_t>((state >> 33) % classes);
  }
  return m;
}

// Converts `from` into a new buffer in `want` right away (set-up only).
memory ReorderNow(const memory& from, const memory::desc& want) {
  if (from.get_desc() == want) return from;
  memory to = New(want);
  memory src = from;
  dnnl::reorder(src, to).execute(CpuStream(), src, to);
  CpuStream().wait();
  return to;
}

dnnl::primitive_attr ReluAttr(bool relu) {
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  return attr;
}

// Runs `build`, turning a dnnl::error into a Status naming `what`.
template <typename T, typename Fn>
absl::StatusOr<T> Guard(absl::string_view what, Fn build) {
  try {
    return build();
  } catch (const dnnl::error& e) {
    return StatusFromDnnlError(absl::StrCat("raw oneDNN ", what), e);
  }
}

// The *_use_dst_for_bwd form of a forward eltwise algorithm.
algorithm UseDstForm(algorithm alg) {
  switch (alg) {
    case algorithm::eltwise_relu:
      return algorithm::eltwise_relu_use_dst_for_bwd;
    case algorithm::eltwise_logistic:
      return algorithm::eltwise_logistic_use_dst_for_bwd;
    case algorithm::eltwise_tanh:
      return algorithm::eltwise_tanh_use_dst_for_bwd;
    default:
      return alg;
  }
}

// Adds ReLU's backward computed from its output `y`, all in `desc`:
// returns dx.
memory AddReluBackward(RawSteps& s, const memory::desc& desc, const memory& y,
                       const memory& dy) {
  const algorithm alg = algorithm::eltwise_relu_use_dst_for_bwd;
  dnnl::eltwise_forward::primitive_desc hint(
      dnnl::eltwise_forward::desc(prop_kind::forward_training, alg, desc, 0.f,
                                  0.f),
      CpuEngine());
  dnnl::eltwise_backward::primitive_desc pd(
      dnnl::eltwise_backward::desc(alg, desc, desc, 0.f, 0.f), CpuEngine(),
      hint);
  memory dx = New(desc);
  s.Add(dnnl::eltwise_backward(pd),
        {{DNNL_ARG_DST, y}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}});
  return dx;
}

// `candidates` (already computed at this point of the steps) as a
// primitive wants them: the first one already in `want`, else a reorder of
// the first one.
memory IntoAny(RawSteps& s, std::initializer_list<memory> candidates,
               const memory::desc& want) {
  for (const memory& m : candidates) {
    if (m.get_desc() == want) return m;
  }
  return s.Into(*candidates.begin(), want);
}

// ---------------------------------------------------------------------------
// Convolution

struct ConvDims {
  memory::dims src, weights, bias, dst;
  memory::dims strides{1, 1}, padding{0, 0};
};

ConvDims DimsOf(int64_t batch, const RawConvSpec& c) {
  const int64_t oh = c.height - c.kernel + 1, ow = c.width - c.kernel + 1;
  return ConvDims{{batch, c.channels, c.height, c.width},
                  {c.filters, c.channels, c.kernel, c.kernel},
                  {c.filters},
                  {batch, c.filters, oh, ow}};
}

dnnl::convolution_forward::desc ConvForwardDesc(prop_kind prop,
                                                const ConvDims& d,
                                                const memory::desc& src) {
  return dnnl::convolution_forward::desc(
      prop, algorithm::convolution_direct, src, Any(d.weights),
      Plain(d.bias, tag::x), Any(d.dst), d.strides, d.padding, d.padding);
}

// Adds x, w, b -> y (all plain) to `op`'s steps.
void AddConvForward(RawSteps& s, const ConvDims& d, const memory& x,
                    const memory& w, const memory& b, const memory& y) {
  dnnl::convolution_forward::primitive_desc pd(
      ConvForwardDesc(prop_kind::forward_inference, d, Any(d.src)),
      ReluAttr(true), CpuEngine());
  memory src = s.Into(x, pd.src_desc());
  memory weights = s.Into(w, pd.weights_desc());
  memory dst = s.ScratchFor(y, pd.dst_desc());
  s.Add(dnnl::convolution_forward(pd), {{DNNL_ARG_SRC, src},
                                        {DNNL_ARG_WEIGHTS, weights},
                                        {DNNL_ARG_BIAS, b},
                                        {DNNL_ARG_DST, dst}});
  s.Out(dst, y);
}

// ---------------------------------------------------------------------------
// Pooling

struct PoolDims {
  memory::dims src, dst, window, padding{0, 0};
};

PoolDims DimsOf(int64_t batch, const RawPoolSpec& p) {
  return PoolDims{{batch, p.channels, p.height, p.width},
                  {batch, p.channels, p.height / p.window, p.width / p.window},
                  {p.window, p.window}};
}

// The blocked activation layout oneDNN's JIT kernels work in: 8 channels
// per block with AVX2, 16 with AVX-512.
tag BlockedTag() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  const bool avx512 = isa == dnnl::cpu_isa::avx512_core ||
                      isa == dnnl::cpu_isa::avx512_core_vnni ||
                      isa == dnnl::cpu_isa::avx512_core_bf16 ||
                      isa == dnnl::cpu_isa::avx512_core_amx;
  return avx512 ? tag::nChw16c : tag::nChw8c;
}

dnnl::pooling_forward::primitive_desc PoolForwardPd(prop_kind prop,
                                                    const memory::desc& src,
                                                    const PoolDims& d) {
  return dnnl::pooling_forward::primitive_desc(
      dnnl::pooling_forward::desc(prop, algorithm::pooling_max, src,
                                  Any(d.dst), d.window, d.window, d.padding,
                                  d.padding),
      CpuEngine());
}

// ---------------------------------------------------------------------------
// Dense

struct DenseParts {
  memory x, w, b, y;
};

// Adds x [N,K] · w [K,M] + b (ReLU) -> y on matmul.
DenseParts AddDenseForward(RawSteps& s, int64_t batch, const RawDenseSpec& d) {
  DenseParts p;
  const memory::desc xd = Plain({batch, d.in}, tag::ab);
  const memory::desc wd = Plain({d.in, d.out}, tag::ab);
  const memory::desc bd = Plain({1, d.out}, tag::ab);
  const memory::desc yd = Plain({batch, d.out}, tag::ab);
  p.x = Filled(xd, 1);
  p.w = Filled(wd, 2, -0.05f, 0.05f);
  p.b = Filled(bd, 3, -0.1f, 0.1f);
  p.y = New(yd);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(xd, wd, bd, yd),
                                  ReluAttr(d.relu), CpuEngine());
  s.Add(dnnl::matmul(pd), {{DNNL_ARG_SRC, p.x},
                           {DNNL_ARG_WEIGHTS, p.w},
                           {DNNL_ARG_BIAS, p.b},
                           {DNNL_ARG_DST, p.y}});
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------
// RawSteps

void RawSteps::Add(dnnl::primitive primitive, Args args) {
  steps_.push_back(Step{std::move(primitive), std::move(args), nullptr});
}

void RawSteps::AddLoop(std::function<void()> loop) {
  steps_.push_back(Step{dnnl::primitive(), {}, std::move(loop)});
}

void RawSteps::AddReorder(const memory& from, const memory& to) {
  Add(dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
}

memory RawSteps::Into(const memory& user, const memory::desc& want) {
  if (user.get_desc() == want) return user;
  memory converted = New(want);
  AddReorder(user, converted);
  return converted;
}

memory RawSteps::ScratchFor(const memory& user, const memory::desc& have) {
  if (user.get_desc() == have) return user;
  return New(have);
}

void RawSteps::Out(const memory& written, const memory& user) {
  if (written.get() == user.get()) return;
  AddReorder(written, user);
}

absl::Status RawSteps::Run() {
  dnnl::stream& stream = CpuStream();
  try {
    for (Step& step : steps_) {
      if (step.loop) {
        step.loop();
      } else {
        step.primitive.execute(stream, step.args);
      }
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    return StatusFromDnnlError("raw oneDNN step", e);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Per-op baselines

RawOpOr RawConvForward(int64_t batch, const RawConvSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("conv forward", [&] {
    auto op = std::make_unique<RawOp>();
    ConvDims d = DimsOf(batch, spec);
    memory x = Filled(Plain(d.src, tag::nchw), 1);
    memory w = Filled(Plain(d.weights, tag::oihw), 2, -0.1f, 0.1f);
    memory b = Filled(Plain(d.bias, tag::x), 3, -0.1f, 0.1f);
    memory y = New(Plain(d.dst, tag::nchw));
    AddConvForward(op->steps(), d, x, w, b, y);
    op->user_inputs() = {x, w, b};
    op->user_outputs() = {y};
    return op;
  });
}

RawOpOr RawConvBackward(int64_t batch, const RawConvSpec& spec,
                        bool input_grad) {
  return Guard<std::unique_ptr<RawOp>>("conv backward", [&]() {
    auto op = std::make_unique<RawOp>();
    ConvDims d = DimsOf(batch, spec);
    memory x = Filled(Plain(d.src, tag::nchw), 1);
    memory w = Filled(Plain(d.weights, tag::oihw), 2, -0.1f, 0.1f);
    memory b = Filled(Plain(d.bias, tag::x), 3, -0.1f, 0.1f);
    const memory::desc plain_dst = Plain(d.dst, tag::nchw);
    memory y = New(plain_dst);
    {
      // The forward's output, for ReLU's backward.
      RawSteps forward;
      AddConvForward(forward, d, x, w, b, y);
      if (!forward.Run().ok()) throw dnnl::error(dnnl_runtime_error, "forward");
    }
    memory dy = Filled(plain_dst, 4);
    memory dw = New(Plain(d.weights, tag::oihw));
    memory db = New(Plain(d.bias, tag::x));
    memory dx = New(Plain(d.src, tag::nchw));

    RawSteps& s = op->steps();
    // ReLU's backward on the plain tensors: one reorder of its result then
    // serves both convolution backwards, instead of reordering dy and y.
    memory dz = AddReluBackward(s, plain_dst, y, dy);

    // A 1-channel input stays plain: with format `any` the backward-weights
    // pads it to 8 channels and reorders it every call (see the notes).
    const memory::desc src =
        spec.channels == 1 ? Plain(d.src, tag::nchw) : Any(d.src);
    dnnl::convolution_forward::primitive_desc hint(
        ConvForwardDesc(prop_kind::forward_training, d, src), CpuEngine());
    dnnl::convolution_backward_weights::primitive_desc bw(
        dnnl::convolution_backward_weights::desc(
            algorithm::convolution_direct, src, Any(d.weights),
            Plain(d.bias, tag::x), Any(d.dst), d.strides, d.padding,
            d.padding),
        CpuEngine(), hint);
    memory dz_w = s.Into(dz, bw.diff_dst_desc());
    memory x_w = s.Into(x, bw.src_desc());
    memory dw_w = s.ScratchFor(dw, bw.diff_weights_desc());
    s.Add(dnnl::convolution_backward_weights(bw),
          {{DNNL_ARG_SRC, x_w},
           {DNNL_ARG_DIFF_DST, dz_w},
           {DNNL_ARG_DIFF_WEIGHTS, dw_w},
           {DNNL_ARG_DIFF_BIAS, db}});
    s.Out(dw_w, dw);

    if (input_grad) {
      dnnl::convolution_backward_data::primitive_desc bd(
          dnnl::convolution_backward_data::desc(
              algorithm::convolution_direct, Any(d.src), Any(d.weights),
              Any(d.dst), d.strides, d.padding, d.padding),
          CpuEngine(), hint);
      memory dz_d = IntoAny(s, {dz_w, dz}, bd.diff_dst_desc());
      memory w_d = s.Into(w, bd.weights_desc());
      memory dx_d = s.ScratchFor(dx, bd.diff_src_desc());
      s.Add(dnnl::convolution_backward_data(bd), {{DNNL_ARG_DIFF_DST, dz_d},
                                                  {DNNL_ARG_WEIGHTS, w_d},
                                                  {DNNL_ARG_DIFF_SRC, dx_d}});
      s.Out(dx_d, dx);
    }
    op->user_inputs() = {x, w, b, dy};
    op->user_outputs() = {dw, db};
    if (input_grad) op->user_outputs().insert(op->user_outputs().begin(), dx);
    return op;
  });
}

// Pooling on plain NCHW runs several times slower than on the blocked
// layout a convolution writes, so a careful user with plain tensors pools in
// the blocked layout and reorders at the edges. The workspace crosses the
// edge too (plain u8 NCHW), as nabla's op benchmarks fetch and feed it.
RawOpOr RawMaxPoolForward(int64_t batch, const RawPoolSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("max pool forward", [&] {
    auto op = std::make_unique<RawOp>();
    PoolDims d = DimsOf(batch, spec);
    memory x = Filled(Plain(d.src, tag::nchw), 1);
    memory y = New(Plain(d.dst, tag::nchw));
    auto pd = PoolForwardPd(prop_kind::forward_training,
                            Plain(d.src, BlockedTag()), d);
    memory ws_user = New(Plain(d.dst, tag::nchw, dt::u8));
    RawSteps& s = op->steps();
    memory src = s.Into(x, pd.src_desc());
    memory dst = s.ScratchFor(y, pd.dst_desc());
    memory ws = s.ScratchFor(ws_user, pd.workspace_desc());
    s.Add(dnnl::pooling_forward(pd),
          {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, ws}});
    s.Out(dst, y);
    s.Out(ws, ws_user);
    op->user_inputs() = {x};
    op->user_outputs() = {y, ws_user};
    return op;
  });
}

RawOpOr RawMaxPoolBackward(int64_t batch, const RawPoolSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("max pool backward", [&] {
    auto op = std::make_unique<RawOp>();
    PoolDims d = DimsOf(batch, spec);
    memory x = Filled(Plain(d.src, tag::nchw), 1);
    auto fwd = PoolForwardPd(prop_kind::forward_training,
                             Plain(d.src, BlockedTag()), d);
    memory ws_user = New(Plain(d.dst, tag::nchw, dt::u8));
    {
      // The forward's workspace (where each window's maximum was), handed
      // over in plain u8 NCHW as nabla's benchmark feeds it.
      memory y = New(fwd.dst_desc());
      memory ws = New(fwd.workspace_desc());
      RawSteps forward;
      memory src = forward.Into(x, fwd.src_desc());
      forward.Add(dnnl::pooling_forward(fwd), {{DNNL_ARG_SRC, src},
                                               {DNNL_ARG_DST, y},
                                               {DNNL_ARG_WORKSPACE, ws}});
      forward.Out(ws, ws_user);
      if (!forward.Run().ok()) throw dnnl::error(dnnl_runtime_error, "forward");
    }
    dnnl::pooling_backward::primitive_desc bwd(
        dnnl::pooling_backward::desc(algorithm::pooling_max, Any(d.src),
                                     fwd.dst_desc(), d.window, d.window,
                                     d.padding, d.padding),
        CpuEngine(), fwd);
    memory dy = Filled(Plain(d.dst, tag::nchw), 4);
    memory dx = New(Plain(d.src, tag::nchw));
    RawSteps& s = op->steps();
    memory dy_b = s.Into(dy, bwd.diff_dst_desc());
    memory ws = s.Into(ws_user, bwd.workspace_desc());
    memory dx_b = s.ScratchFor(dx, bwd.diff_src_desc());
    s.Add(dnnl::pooling_backward(bwd), {{DNNL_ARG_DIFF_DST, dy_b},
                                        {DNNL_ARG_WORKSPACE, ws},
                                        {DNNL_ARG_DIFF_SRC, dx_b}});
    s.Out(dx_b, dx);
    op->user_inputs() = {x, dy};
    op->user_outputs() = {dx};
    return op;
  });
}

RawOpOr RawDenseForward(int64_t batch, const RawDenseSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("dense forward", [&] {
    auto op = std::make_unique<RawOp>();
    DenseParts p = AddDenseForward(op->steps(), batch, spec);
    op->user_inputs() = {p.x, p.w, p.b};
    op->user_outputs() = {p.y};
    return op;
  });
}

RawOpOr RawDenseBackward(int64_t batch, const RawDenseSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("dense backward", [&] {
    auto op = std::make_unique<RawOp>();
    DenseParts p;
    {
      RawSteps forward;
      p = AddDenseForward(forward, batch, spec);
      if (!forward.Run().ok()) throw dnnl::error(dnnl_runtime_error, "forward");
    }
    const int64_t n = batch, k = spec.in, m = spec.out;
    const memory::desc yd = Plain({n, m}, tag::ab);
    memory dy = Filled(yd, 4);
    memory dx = New(Plain({n, k}, tag::ab));
    memory dw = New(Plain({k, m}, tag::ab));
    memory db = New(Plain({1, m}, tag::ab));
    RawSteps& s = op->steps();
    memory dz = spec.relu ? AddReluBackward(s, yd, p.y, dy) : dy;
    // dx = dz · wᵀ and dw = xᵀ · dz read the row-major operands through
    // transposed strides, without copies.
    memory::desc wt({m, k}, dt::f32, memory::dims{1, m});
    memory::desc xt({k, n}, dt::f32, memory::dims{1, k});
    memory w_t(wt, CpuEngine(), p.w.get_data_handle());
    memory x_t(xt, CpuEngine(), p.x.get_data_handle());
    dnnl::matmul::primitive_desc dx_pd(
        dnnl::matmul::desc(yd, wt, dx.get_desc()), CpuEngine());
    s.Add(dnnl::matmul(dx_pd), {{DNNL_ARG_SRC, dz},
                                {DNNL_ARG_WEIGHTS, w_t},
                                {DNNL_ARG_DST, dx}});
    dnnl::matmul::primitive_desc dw_pd(
        dnnl::matmul::desc(xt, yd, dw.get_desc()), CpuEngine());
    s.Add(dnnl::matmul(dw_pd), {{DNNL_ARG_SRC, x_t},
                                {DNNL_ARG_WEIGHTS, dz},
                                {DNNL_ARG_DST, dw}});
    // db = ones[1,N] · dz: oneDNN 2.6's reduction primitive runs its
    // reference implementation here (and refuses a batch of 1).
    memory ones = New(Plain({1, n}, tag::ab));
    std::fill_n(static_cast<float*>(ones.get_data_handle()), n, 1.0f);
    dnnl::matmul::primitive_desc db_pd(
        dnnl::matmul::desc(ones.get_desc(), yd, db.get_desc()), CpuEngine());
    s.Add(dnnl::matmul(db_pd), {{DNNL_ARG_SRC, ones},
                                {DNNL_ARG_WEIGHTS, dz},
                                {DNNL_ARG_DST, db}});
    op->user_inputs() = {p.x, p.w, p.b, dy};
    op->user_outputs() = {dx, dw, db};
    return op;
  });
}

RawOpOr RawEltwiseForward(int64_t elements, algorithm alg, float alpha) {
  return Guard<std::unique_ptr<RawOp>>("eltwise forward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({elements}, tag::a);
    memory x = Filled(d, 1, -3.0f, 3.0f);
    memory y = New(d);
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(prop_kind::forward_inference, alg, d,
                                    alpha, 0.f),
        CpuEngine());
    op->steps().Add(dnnl::eltwise_forward(pd),
                    {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    op->user_inputs() = {x};
    op->user_outputs() = {y};
    return op;
  });
}

RawOpOr RawEltwiseBackward(int64_t elements, algorithm alg, float alpha) {
  return Guard<std::unique_ptr<RawOp>>("eltwise backward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({elements}, tag::a);
    memory x = Filled(d, 1, -3.0f, 3.0f);
    memory y = New(d);
    dnnl::eltwise_forward::primitive_desc fwd(
        dnnl::eltwise_forward::desc(prop_kind::forward_inference, alg, d,
                                    alpha, 0.f),
        CpuEngine());
    dnnl::eltwise_forward(fwd).execute(CpuStream(),
                                       {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    CpuStream().wait();
    const algorithm bwd_alg = UseDstForm(alg);
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, bwd_alg, d,
                                    alpha, 0.f),
        CpuEngine());
    dnnl::eltwise_backward::primitive_desc bwd(
        dnnl::eltwise_backward::desc(bwd_alg, d, d, alpha, 0.f), CpuEngine(),
        hint);
    memory dy = Filled(d, 4);
    memory dx = New(d);
    op->steps().Add(dnnl::eltwise_backward(bwd), {{DNNL_ARG_DST, y},
                                                  {DNNL_ARG_DIFF_DST, dy},
                                                  {DNNL_ARG_DIFF_SRC, dx}});
    op->user_inputs() = {x, dy};
    op->user_outputs() = {dx};
    return op;
  });
}

RawOpOr RawSoftmaxForward(int64_t rows, int64_t classes) {
  return Guard<std::unique_ptr<RawOp>>("softmax forward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({rows, classes}, tag::ab);
    memory x = Filled(d, 1, -3.0f, 3.0f);
    memory y = New(d);
    dnnl::softmax_forward::primitive_desc pd(
        dnnl::softmax_forward::desc(prop_kind::forward_inference, d, 1),
        CpuEngine());
    op->steps().Add(dnnl::softmax_forward(pd),
                    {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    op->user_inputs() = {x};
    op->user_outputs() = {y};
    return op;
  });
}

RawOpOr RawSoftmaxBackward(int64_t rows, int64_t classes) {
  return Guard<std::unique_ptr<RawOp>>("softmax backward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({rows, classes}, tag::ab);
    memory x = Filled(d, 1, -3.0f, 3.0f);
    memory y = New(d);
    dnnl::softmax_forward::primitive_desc fwd(
        dnnl::softmax_forward::desc(prop_kind::forward_training, d, 1),
        CpuEngine());
    dnnl::softmax_forward(fwd).execute(CpuStream(),
                                       {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    CpuStream().wait();
    dnnl::softmax_backward::primitive_desc bwd(
        dnnl::softmax_backward::desc(d, d, 1), CpuEngine(), fwd);
    memory dy = Filled(d, 4);
    memory dx = New(d);
    op->steps().Add(dnnl::softmax_backward(bwd), {{DNNL_ARG_DST, y},
                                                  {DNNL_ARG_DIFF_DST, dy},
                                                  {DNNL_ARG_DIFF_SRC, dx}});
    op->user_inputs() = {x, dy};
    op->user_outputs() = {dx};
    return op;
  });
}

namespace {

constexpr float kBatchNormEpsilon = 1e-3f;

memory::desc BatchNormData(int64_t batch, const RawBatchNormSpec& spec) {
  return Plain({batch, spec.channels, spec.height, spec.width}, tag::nchw);
}

memory Ones(const memory::desc& desc) {
  memory m = New(desc);
  float* p = static_cast<float*>(m.get_data_handle());
  std::fill(p, p + desc.get_size() / sizeof(float), 1.0f);
  return m;
}

}  // namespace

RawOpOr RawBatchNormForward(int64_t batch, const RawBatchNormSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("batch norm forward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = BatchNormData(batch, spec);
    const memory::desc c = Plain({spec.channels}, tag::a);
    memory x = Filled(d, 1);
    memory gamma = Filled(c, 2, 0.5f, 1.5f);
    memory beta = Filled(c, 3, -0.5f, 0.5f);
    memory mean = Zeros(c);
    memory variance = Ones(c);
    memory y = New(d);
    dnnl::batch_normalization_forward::primitive_desc pd(
        dnnl::batch_normalization_forward::desc(
            prop_kind::forward_inference, d, kBatchNormEpsilon,
            dnnl::normalization_flags::use_scale |
                dnnl::normalization_flags::use_shift |
                dnnl::normalization_flags::use_global_stats),
        CpuEngine());
    op->steps().Add(dnnl::batch_normalization_forward(pd),
                    {{DNNL_ARG_SRC, x},
                     {DNNL_ARG_SCALE, gamma},
                     {DNNL_ARG_SHIFT, beta},
                     {DNNL_ARG_MEAN, mean},
                     {DNNL_ARG_VARIANCE, variance},
                     {DNNL_ARG_DST, y}});
    op->user_inputs() = {x, gamma, beta};
    op->user_outputs() = {y};
    return op;
  });
}

RawOpOr RawBatchNormBackward(int64_t batch, const RawBatchNormSpec& spec) {
  return Guard<std::unique_ptr<RawOp>>("batch norm backward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = BatchNormData(batch, spec);
    const memory::desc c = Plain({spec.channels}, tag::a);
    memory x = Filled(d, 1);
    memory gamma = Filled(c, 2, 0.5f, 1.5f);
    memory beta = Filled(c, 3, -0.5f, 0.5f);
    const dnnl::normalization_flags flags =
        dnnl::normalization_flags::use_scale |
        dnnl::normalization_flags::use_shift;
    dnnl::batch_normalization_forward::primitive_desc fwd(
        dnnl::batch_normalization_forward::desc(
            prop_kind::forward_training, d, kBatchNormEpsilon, flags),
        CpuEngine());
    memory mean = New(c);
    memory variance = New(c);
    {
      memory y = New(d);
      dnnl::batch_normalization_forward(fwd).execute(
          CpuStream(), {{DNNL_ARG_SRC, x},
                        {DNNL_ARG_SCALE, gamma},
                        {DNNL_ARG_SHIFT, beta},
                        {DNNL_ARG_MEAN, mean},
                        {DNNL_ARG_VARIANCE, variance},
                        {DNNL_ARG_DST, y}});
      CpuStream().wait();
    }
    dnnl::batch_normalization_backward::primitive_desc bwd(
        dnnl::batch_normalization_backward::desc(
            prop_kind::backward, d, d, kBatchNormEpsilon, flags),
        CpuEngine(), fwd);
    memory dy = Filled(d, 4);
    memory dx = New(d);
    memory dgamma = New(c);
    memory dbeta = New(c);
    op->steps().Add(dnnl::batch_normalization_backward(bwd),
                    {{DNNL_ARG_SRC, x},
                     {DNNL_ARG_DIFF_DST, dy},
                     {DNNL_ARG_SCALE, gamma},
                     {DNNL_ARG_SHIFT, beta},
                     {DNNL_ARG_MEAN, mean},
                     {DNNL_ARG_VARIANCE, variance},
                     {DNNL_ARG_DIFF_SRC, dx},
                     {DNNL_ARG_DIFF_SCALE, dgamma},
                     {DNNL_ARG_DIFF_SHIFT, dbeta}});
    op->user_inputs() = {x, gamma, beta, dy};
    op->user_outputs() = {dx, dgamma, dbeta};
    return op;
  });
}

namespace {

// Adds the mean cross-entropy loop: from log-probabilities `log_probs`
// [rows, classes] and s32 `labels`, writes the loss to *loss and
// (softmax - one_hot) / rows to `backprop`.
void AddCrossEntropyLoop(RawSteps& s, const memory& log_probs,
                         const memory& labels, const memory& backprop,
                         int64_t rows, int64_t classes, float* loss) {
  const float* lp = static_cast<const float*>(log_probs.get_data_handle());
  const int32_t* label = static_cast<const int32_t*>(labels.get_data_handle());
  float* bp = static_cast<float*>(backprop.get_data_handle());
  s.AddLoop([=] {
    const float inv_rows = 1.0f / static_cast<float>(rows);
    double total = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const float* row = lp + i * classes;
      float* out = bp + i * classes;
      for (int64_t j = 0; j < classes; ++j) out[j] = std::exp(row[j]) * inv_rows;
      out[label[i]] -= inv_rows;
      total -= row[label[i]];
    }
    *loss = static_cast<float>(total / static_cast<double>(rows));
  });
}

}  // namespace

RawOpOr RawSoftmaxCrossEntropyForward(int64_t rows, int64_t classes) {
  return Guard<std::unique_ptr<RawOp>>("softmax cross-entropy forward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({rows, classes}, tag::ab);
    memory logits = Filled(d, 1, -3.0f, 3.0f);
    memory labels = Labels(rows, classes, 2);
    memory log_probs = New(d);
    memory loss = Zeros(Plain({1}, tag::a));
    memory backprop = New(d);
    dnnl::logsoftmax_forward::primitive_desc pd(
        dnnl::logsoftmax_forward::desc(prop_kind::forward_inference, d, 1),
        CpuEngine());
    RawSteps& s = op->steps();
    s.Add(dnnl::logsoftmax_forward(pd),
          {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, log_probs}});
    AddCrossEntropyLoop(s, log_probs, labels, backprop, rows, classes,
                        static_cast<float*>(loss.get_data_handle()));
    op->user_inputs() = {logits, labels};
    op->user_outputs() = {loss, backprop, log_probs};
    return op;
  });
}

RawOpOr RawSoftmaxCrossEntropyBackward(int64_t rows, int64_t classes) {
  return Guard<std::unique_ptr<RawOp>>("softmax cross-entropy backward", [&] {
    auto op = std::make_unique<RawOp>();
    const memory::desc d = Plain({rows, classes}, tag::ab);
    const memory::desc scalar = Plain({1, 1}, tag::ab);
    memory backprop = Filled(d, 1, -0.1f, 0.1f);
    memory dloss = Filled(scalar, 2, 0.5f, 1.5f);
    memory dlogits = New(d);
    dnnl::binary::primitive_desc pd(
        dnnl::binary::desc(algorithm::binary_mul, d, scalar, d), CpuEngine());
    op->steps().Add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, backprop},
                                       {DNNL_ARG_SRC_1, dloss},
                                       {DNNL_ARG_DST, dlogits}});
    op->user_inputs() = {backprop, dloss};
    op->user_outputs() = {dlogits};
    return op;
  });
}

// ---------------------------------------------------------------------------
// The whole model

// RawLectureModelBuilder fills a RawLectureModel's steps; one per model.
class RawLectureModelBuilder {
 public:
  RawLectureModelBuilder(RawLectureModel* model, int64_t batch, bool training)
      : model_(model), s_(model->steps_), n_(batch), training_(training) {}

  void Build();

 private:
  // A trainable tensor in the layout its forward primitive chose, with its
  // gradient and Adam's moments in the same layout.
  struct Variable {
    memory param, grad, m, v;
  };

  // A weight: Glorot-uniform in the plain `dims` (tag `plain`), reordered
  // once into `layout`.
  Variable Weight(const memory::dims& dims, tag plain,
                  const memory::desc& layout, int64_t fan_in,
                  int64_t fan_out) {
    const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
    memory user = Filled(Plain(dims, plain), ++seed_, -limit, limit);
    return Slots(ReorderNow(user, layout));
  }
  Variable Bias(int64_t size) { return Slots(Zeros(Plain({size}, tag::x))); }
  Variable Slots(memory param) {
    Variable v{param, Zeros(param.get_desc()), Zeros(param.get_desc()),
               Zeros(param.get_desc())};
    if (training_) variables_.push_back(v);
    return v;
  }

  // Adds a backward-weights primitive writing the variable's gradient, via
  // a reorder when it chose another layout than the forward's.
  void AddWeightsBackward(const dnnl::primitive& primitive,
                          const memory::desc& diff_weights, const memory& src,
                          const memory& diff_dst, const Variable& w,
                          const Variable& b) {
    memory dw = s_.ScratchFor(w.grad, diff_weights);
    s_.Add(primitive, {{DNNL_ARG_SRC, src},
                       {DNNL_ARG_DIFF_DST, diff_dst},
                       {DNNL_ARG_DIFF_WEIGHTS, dw},
                       {DNNL_ARG_DIFF_BIAS, b.grad}});
    s_.Out(dw, w.grad);
  }

  void AddAdam();

  RawLectureModel* model_;
  RawSteps& s_;
  const int64_t n_;
  const bool training_;
  uint64_t seed_ = 100;
  std::vector<Variable> variables_;
};

void RawLectureModelBuilder::Build() {
  const dnnl::engine& eng = CpuEngine();
  const int64_t n = n_;
  const prop_kind prop =
      training_ ? prop_kind::forward_training : prop_kind::forward_inference;
  const memory::dims x_dims{n, 1, 28, 28}, c1_dims{n, 32, 24, 24},
      p1_dims{n, 32, 12, 12}, c2_dims{n, 64, 8, 8}, p2_dims{n, 64, 4, 4},
      d1_dims{n, 1000}, logit_dims{n, 10};
  const memory::dims c1w_dims{32, 1, 5, 5}, c2w_dims{64, 32, 5, 5},
      d1w_dims{1000, 64, 4, 4}, d2w_dims{10, 1000};
  const memory::dims one{1, 1}, zero{0, 0}, two{2, 2};

  memory images = Filled(Plain(x_dims, tag::nchw), 1, 0.0f, 1.0f);
  memory labels = Labels(n, 10, 2);
  model_->keep_ = {images, labels};

  // conv1 reads the plain images directly: with one input channel a
  // blocked source only adds a reorder.
  const memory::desc x_desc = Plain(x_dims, tag::nchw);
  dnnl::convolution_forward::primitive_desc c1(
      dnnl::convolution_forward::desc(prop, algorithm::convolution_direct,
                                      x_desc, Any(c1w_dims),
                                      Plain({32}, tag::x), Any(c1_dims), one,
                                      zero, zero),
      ReluAttr(true), eng);
  Variable c1w = Weight(c1w_dims, tag::oihw, c1.weights_desc(), 25, 800);
  Variable c1b = Bias(32);
  memory c1_out = New(c1.dst_desc());
  s_.Add(dnnl::convolution_forward(c1), {{DNNL_ARG_SRC, images},
                                         {DNNL_ARG_WEIGHTS, c1w.param},
                                         {DNNL_ARG_BIAS, c1b.param},
                                         {DNNL_ARG_DST, c1_out}});

  PoolDims p1d{c1_dims, p1_dims, two};
  auto p1 = PoolForwardPd(prop, c1.dst_desc(), p1d);
  memory p1_out = New(p1.dst_desc());
  memory p1_ws;
  RawSteps::Args p1_args{{DNNL_ARG_SRC, c1_out}, {DNNL_ARG_DST, p1_out}};
  if (training_) {
    p1_ws = New(p1.workspace_desc());
    p1_args[DNNL_ARG_WORKSPACE] = p1_ws;
  }
  s_.Add(dnnl::pooling_forward(p1), p1_args);

  dnnl::convolution_forward::primitive_desc c2(
      dnnl::convolution_forward::desc(
          prop, algorithm::convolution_direct, Any(p1_dims), Any(c2w_dims),
          Plain({64}, tag::x), Any(c2_dims), one, zero, zero),
      ReluAttr(true), eng);
  Variable c2w = Weight(c2w_dims, tag::oihw, c2.weights_desc(), 800, 1600);
  Variable c2b = Bias(64);
  memory c2_src = s_.Into(p1_out, c2.src_desc());
  memory c2_out = New(c2.dst_desc());
  s_.Add(dnnl::convolution_forward(c2), {{DNNL_ARG_SRC, c2_src},
                                         {DNNL_ARG_WEIGHTS, c2w.param},
                                         {DNNL_ARG_BIAS, c2b.param},
                                         {DNNL_ARG_DST, c2_out}});

  PoolDims p2d{c2_dims, p2_dims, two};
  auto p2 = PoolForwardPd(prop, c2.dst_desc(), p2d);
  memory p2_out = New(p2.dst_desc());
  memory p2_ws;
  RawSteps::Args p2_args{{DNNL_ARG_SRC, c2_out}, {DNNL_ARG_DST, p2_out}};
  if (training_) {
    p2_ws = New(p2.workspace_desc());
    p2_args[DNNL_ARG_WORKSPACE] = p2_ws;
  }
  s_.Add(dnnl::pooling_forward(p2), p2_args);

  // dense1 as an inner product over the 4-D pooled tensor: Flatten is a
  // matter of the weights' layout, which oneDNN picks to match.
  dnnl::inner_product_forward::primitive_desc ip1(
      dnnl::inner_product_forward::desc(prop, Any(p2_dims), Any(d1w_dims),
                                        Plain({1000}, tag::x), Any(d1_dims)),
      ReluAttr(true), eng);
  Variable d1w = Weight(d1w_dims, tag::oihw, ip1.weights_desc(), 1024, 1000);
  Variable d1b = Bias(1000);
  memory ip1_src = s_.Into(p2_out, ip1.src_desc());
  memory d1_out = New(ip1.dst_desc());
  s_.Add(dnnl::inner_product_forward(ip1), {{DNNL_ARG_SRC, ip1_src},
                                            {DNNL_ARG_WEIGHTS, d1w.param},
                                            {DNNL_ARG_BIAS, d1b.param},
                                            {DNNL_ARG_DST, d1_out}});

  dnnl::inner_product_forward::primitive_desc ip2(
      dnnl::inner_product_forward::desc(prop, Any(d1_dims), Any(d2w_dims),
                                        Plain({10}, tag::x), Any(logit_dims)),
      eng);
  Variable d2w = Weight(d2w_dims, tag::oi, ip2.weights_desc(), 1000, 10);
  Variable d2b = Bias(10);
  memory ip2_src = s_.Into(d1_out, ip2.src_desc());
  memory logits_out = New(ip2.dst_desc());
  s_.Add(dnnl::inner_product_forward(ip2), {{DNNL_ARG_SRC, ip2_src},
                                            {DNNL_ARG_WEIGHTS, d2w.param},
                                            {DNNL_ARG_BIAS, d2b.param},
                                            {DNNL_ARG_DST, logits_out}});
  const memory::desc logit_desc = Plain(logit_dims, tag::ab);
  memory logits = s_.Into(logits_out, logit_desc);

  if (!training_) {
    dnnl::softmax_forward::primitive_desc sm(
        dnnl::softmax_forward::desc(prop_kind::forward_inference, logit_desc,
                                    1),
        eng);
    memory probs = New(logit_desc);
    s_.Add(dnnl::softmax_forward(sm),
           {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, probs}});
    model_->keep_.push_back(probs);
    return;
  }

  // Loss: log-softmax, then the mean cross-entropy and its gradient.
  dnnl::logsoftmax_forward::primitive_desc lsm(
      dnnl::logsoftmax_forward::desc(prop_kind::forward_inference, logit_desc,
                                     1),
      eng);
  memory log_probs = New(logit_desc);
  memory dlogits = New(logit_desc);
  s_.Add(dnnl::logsoftmax_forward(lsm),
         {{DNNL_ARG_SRC, logits}, {DNNL_ARG_DST, log_probs}});
  AddCrossEntropyLoop(s_, log_probs, labels, dlogits, n, 10, &model_->loss_);
  model_->keep_.insert(model_->keep_.end(), {log_probs, dlogits});

  // dense2. Backward-data gets the forward's weights layout, so that no
  // reorder of the weights runs.
  dnnl::inner_product_backward_data::primitive_desc ip2_bd(
      dnnl::inner_product_backward_data::desc(Any(d1_dims), ip2.weights_desc(),
                                              Any(logit_dims)),
      eng, ip2);
  dnnl::inner_product_backward_weights::primitive_desc ip2_bw(
      dnnl::inner_product_backward_weights::desc(
          Any(d1_dims), Any(d2w_dims), Plain({10}, tag::x), Any(logit_dims)),
      eng, ip2);
  memory dlogits_d = s_.Into(dlogits, ip2_bd.diff_dst_desc());
  memory dd1 = New(ip2_bd.diff_src_desc());
  s_.Add(dnnl::inner_product_backward_data(ip2_bd),
         {{DNNL_ARG_DIFF_DST, dlogits_d},
          {DNNL_ARG_WEIGHTS, s_.Into(d2w.param, ip2_bd.weights_desc())},
          {DNNL_ARG_DIFF_SRC, dd1}});
  AddWeightsBackward(dnnl::inner_product_backward_weights(ip2_bw),
                     ip2_bw.diff_weights_desc(),
                     IntoAny(s_, {ip2_src, d1_out}, ip2_bw.src_desc()),
                     IntoAny(s_, {dlogits_d, dlogits}, ip2_bw.diff_dst_desc()),
                     d2w, d2b);

  // dense1's ReLU, then dense1.
  memory dz1 = AddReluBackward(s_, ip1.dst_desc(), d1_out,
                               s_.Into(dd1, ip1.dst_desc()));
  dnnl::inner_product_backward_data::primitive_desc ip1_bd(
      dnnl::inner_product_backward_data::desc(Any(p2_dims), ip1.weights_desc(),
                                              Any(d1_dims)),
      eng, ip1);
  dnnl::inner_product_backward_weights::primitive_desc ip1_bw(
      dnnl::inner_product_backward_weights::desc(
          Any(p2_dims), Any(d1w_dims), Plain({1000}, tag::x), Any(d1_dims)),
      eng, ip1);
  memory dz1_d = s_.Into(dz1, ip1_bd.diff_dst_desc());
  memory dp2 = New(ip1_bd.diff_src_desc());
  s_.Add(dnnl::inner_product_backward_data(ip1_bd),
         {{DNNL_ARG_DIFF_DST, dz1_d},
          {DNNL_ARG_WEIGHTS, s_.Into(d1w.param, ip1_bd.weights_desc())},
          {DNNL_ARG_DIFF_SRC, dp2}});
  AddWeightsBackward(dnnl::inner_product_backward_weights(ip1_bw),
                     ip1_bw.diff_weights_desc(),
                     IntoAny(s_, {ip1_src, p2_out}, ip1_bw.src_desc()),
                     IntoAny(s_, {dz1_d, dz1}, ip1_bw.diff_dst_desc()), d1w,
                     d1b);

  // pool2, conv2's ReLU, conv2.
  dnnl::pooling_backward::primitive_desc p2_bd(
      dnnl::pooling_backward::desc(algorithm::pooling_max, Any(c2_dims),
                                   p2.dst_desc(), two, two, zero, zero),
      eng, p2);
  memory dc2 = New(p2_bd.diff_src_desc());
  s_.Add(dnnl::pooling_backward(p2_bd),
         {{DNNL_ARG_DIFF_DST, s_.Into(dp2, p2_bd.diff_dst_desc())},
          {DNNL_ARG_WORKSPACE, p2_ws},
          {DNNL_ARG_DIFF_SRC, dc2}});
  memory dz2 = AddReluBackward(s_, c2.dst_desc(), c2_out,
                               s_.Into(dc2, c2.dst_desc()));
  dnnl::convolution_forward::primitive_desc c2_hint(
      dnnl::convolution_forward::desc(
          prop_kind::forward_training, algorithm::convolution_direct,
          Any(p1_dims), Any(c2w_dims), Plain({64}, tag::x), Any(c2_dims), one,
          zero, zero),
      eng);
  dnnl::convolution_backward_weights::primitive_desc c2_bw(
      dnnl::convolution_backward_weights::desc(
          algorithm::convolution_direct, Any(p1_dims), Any(c2w_dims),
          Plain({64}, tag::x), Any(c2_dims), one, zero, zero),
      eng, c2_hint);
  dnnl::convolution_backward_data::primitive_desc c2_bd(
      dnnl::convolution_backward_data::desc(algorithm::convolution_direct,
                                            Any(p1_dims), Any(c2w_dims),
                                            Any(c2_dims), one, zero, zero),
      eng, c2_hint);
  memory dz2_w = s_.Into(dz2, c2_bw.diff_dst_desc());
  AddWeightsBackward(dnnl::convolution_backward_weights(c2_bw),
                     c2_bw.diff_weights_desc(),
                     IntoAny(s_, {c2_src, p1_out}, c2_bw.src_desc()), dz2_w,
                     c2w, c2b);
  memory dp1 = New(c2_bd.diff_src_desc());
  // Backward-data may prefer another weights layout than the forward
  // (8a8b against 8b8a on AVX2); forcing the forward's can select the
  // reference implementation, so the small weights are reordered instead.
  s_.Add(dnnl::convolution_backward_data(c2_bd),
         {{DNNL_ARG_DIFF_DST, IntoAny(s_, {dz2_w, dz2}, c2_bd.diff_dst_desc())},
          {DNNL_ARG_WEIGHTS, s_.Into(c2w.param, c2_bd.weights_desc())},
          {DNNL_ARG_DIFF_SRC, dp1}});

  // pool1, conv1's ReLU, conv1 (weights only: the images need no gradient).
  dnnl::pooling_backward::primitive_desc p1_bd(
      dnnl::pooling_backward::desc(algorithm::pooling_max, Any(c1_dims),
                                   p1.dst_desc(), two, two, zero, zero),
      eng, p1);
  memory dc1 = New(p1_bd.diff_src_desc());
  s_.Add(dnnl::pooling_backward(p1_bd),
         {{DNNL_ARG_DIFF_DST, s_.Into(dp1, p1_bd.diff_dst_desc())},
          {DNNL_ARG_WORKSPACE, p1_ws},
          {DNNL_ARG_DIFF_SRC, dc1}});
  memory dz_c1 = AddReluBackward(s_, c1.dst_desc(), c1_out,
                                 s_.Into(dc1, c1.dst_desc()));
  dnnl::convolution_forward::primitive_desc c1_hint(
      dnnl::convolution_forward::desc(
          prop_kind::forward_training, algorithm::convolution_direct, x_desc,
          Any(c1w_dims), Plain({32}, tag::x), Any(c1_dims), one, zero, zero),
      eng);
  dnnl::convolution_backward_weights::primitive_desc c1_bw(
      dnnl::convolution_backward_weights::desc(
          algorithm::convolution_direct, x_desc, Any(c1w_dims),
          Plain({32}, tag::x), Any(c1_dims), one, zero, zero),
      eng, c1_hint);
  AddWeightsBackward(dnnl::convolution_backward_weights(c1_bw),
                     c1_bw.diff_weights_desc(), images,
                     s_.Into(dz_c1, c1_bw.diff_dst_desc()), c1w, c1b);

  AddAdam();
}

// Keras's Adam (learning rate 0.001, betas 0.9 and 0.999, epsilon 1e-7)
// over each variable's whole buffer: the padding of blocked layouts holds
// zero weights and zero gradients, so it stays zero.
void RawLectureModelBuilder::AddAdam() {
  struct Slot {
    float *w, *g, *m, *v;
    int64_t n;
  };
  std::vector<Slot> slots;
  for (const Variable& var : variables_) {
    auto ptr = [](const memory& m) {
      return static_cast<float*>(m.get_data_handle());
    };
    slots.push_back(Slot{ptr(var.param), ptr(var.grad), ptr(var.m),
                         ptr(var.v),
                         static_cast<int64_t>(var.param.get_desc().get_size() /
                                              sizeof(float))});
    model_->keep_.insert(model_->keep_.end(),
                         {var.param, var.grad, var.m, var.v});
  }
  RawLectureModel* model = model_;
  s_.AddLoop([model, slots] {
    constexpr float kLr = 0.001f, kBeta1 = 0.9f, kBeta2 = 0.999f,
                    kEpsilon = 1e-7f;
    const int64_t t = ++model->iterations_;
    const float lr =
        kLr * std::sqrt(1.0f - std::pow(kBeta2, static_cast<float>(t))) /
        (1.0f - std::pow(kBeta1, static_cast<float>(t)));
    for (const Slot& s : slots) {
      float *w = s.w, *g = s.g, *m = s.m, *v = s.v;
#pragma omp parallel for simd if (s.n >= 4096)
      for (int64_t i = 0; i < s.n; ++i) {
        m[i] = kBeta1 * m[i] + (1.0f - kBeta1) * g[i];
        v[i] = kBeta2 * v[i] + (1.0f - kBeta2) * g[i] * g[i];
        w[i] -= lr * m[i] / (std::sqrt(v[i]) + kEpsilon);
      }
    }
  });
}

absl::StatusOr<std::unique_ptr<RawLectureModel>> RawLectureModel::Create(
    int64_t batch, bool training) {
  return Guard<std::unique_ptr<RawLectureModel>>("lecture model", [&] {
    std::unique_ptr<RawLectureModel> model(new RawLectureModel());
    RawLectureModelBuilder(model.get(), batch, training).Build();
    return model;
  });
}

}  // namespace bench
}  // namespace nabla
