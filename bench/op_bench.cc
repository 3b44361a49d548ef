// Op benchmarks: every case of bench/op_cases.cc, forward and backward, at
// each of its batch sizes, beside the same computation on raw oneDNN
// primitives (bench/raw_dnnl.h):
//
//   BM_<Case>_Fwd/<batch>      nabla: a plan computing the op's outputs and
//                              what its backward reads (the training forward)
//   BM_<Case>_Fwd_Raw/<batch>  the same on oneDNN directly
//   BM_<Case>_Bwd/<batch>      nabla: Gradients(ys, grad_ys, wrt) with the
//                              forward's values and dy fed, so that only the
//                              backward ops run
//   BM_<Case>_Bwd_Raw/<batch>  the same on oneDNN directly
//
//   bazel run -c opt //bench:op_bench -- --benchmark_filter=Conv2_
//   bazel run -c opt //bench:op_bench -- --benchmark_min_time=0.2
//   bazel run -c opt //bench:op_bench -- --threads=1 --benchmark_format=json
//
// Plans are compiled, inputs made and the forward values computed outside
// the timed loop; the loop calls Plan::Run with no fetch vector, so the
// outputs stay in the plan's buffers (as between two layers) instead of
// being copied out. Every benchmark reports items/s (examples), FLOP/s where
// meaningful, bytes/s of its edges, the heap allocations per iteration
// (allocs_per_iter, which the raw baselines show are not all nabla's:
// oneDNN's C++ execute() itself allocates every call) and its steps
// (kernels and reorders; primitives and loops for raw) and, for nabla, the
// reorders its executor inserted.
// `bench/compare.py --ops` turns the JSON into a table of ratios.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/bench_util.h"
#include "bench/op_cases.h"
#include "bench/raw_dnnl.h"
#include "core/status.h"
#include "graph/autodiff.h"
#include "graph/builder.h"
#include "graph/session.h"

namespace nabla {
namespace bench {
namespace {

// CaseGraph: a case's op and, where it has one, its backward, in one graph.
struct CaseGraph {
  std::unique_ptr<GraphBuilder> builder;
  Graph graph;
  std::vector<Output> inputs;  // the case's placeholders
  std::vector<Output> ys;      // what the forward produces
  int first_forward = 0;       // the forward's nodes: [first, end)
  int end_forward = 0;
  bool has_backward = false;
  std::string no_backward;     // why not, when it has none
  std::vector<Output> grad_ys;  // placeholders, one per y
  std::vector<Output> grads;    // one per differentiable input
  std::vector<NodeOutput> saved;  // forward values the backward reads
  // Values from outside the backward that its nodes read: inputs, saved
  // values and grad_ys.
  std::vector<NodeOutput> backward_reads;
  std::set<std::string> ops;  // every op in the graph
};

bool Contains(const std::vector<NodeOutput>& v, NodeOutput x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

absl::StatusOr<CaseGraph> BuildCaseGraph(const OpCase& c, bool with_backward) {
  CaseGraph g;
  g.builder = std::make_unique<GraphBuilder>();
  GraphBuilder& b = *g.builder;
  for (const CaseInput& in : c.inputs) {
    g.inputs.push_back(b.Placeholder(in.name, in.shape, in.dtype));
  }
  g.first_forward = b.graph().num_nodes();
  g.ys = c.build(b, g.inputs);
  NABLA_RETURN_IF_ERROR(b.status());
  if (g.ys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("case ", c.name, " built no outputs"));
  }
  g.end_forward = b.graph().num_nodes();

  std::vector<Output> wrt;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (c.inputs[i].differentiable && c.inputs[i].dtype == DType::kF32) {
      wrt.push_back(g.inputs[i]);
    }
  }
  if (wrt.empty()) g.no_backward = "no input is differentiated";
  if (with_backward && !wrt.empty()) {
    for (size_t i = 0; i < g.ys.size(); ++i) {
      g.grad_ys.push_back(b.Placeholder(absl::StrCat("dy", i), g.ys[i].shape(),
                                        g.ys[i].dtype()));
    }
    const int first_backward = b.graph().num_nodes();
    NABLA_ASSIGN_OR_RETURN(g.grads, Gradients(g.ys, g.grad_ys, wrt));
    bool only_zeros = true;
    for (const Output& grad : g.grads) {
      only_zeros &= b.graph().node(grad.ref().node).op() == "ZerosLike";
    }
    if (only_zeros) {
      g.no_backward = "its gradients are all zeros";
    } else {
      g.has_backward = true;
      for (int id = first_backward; id < b.graph().num_nodes(); ++id) {
        for (NodeOutput in : b.graph().node(id).inputs) {
          if (in.node >= first_backward) continue;
          if (!Contains(g.backward_reads, in)) g.backward_reads.push_back(in);
          bool forward = in.node >= g.first_forward && in.node < g.end_forward;
          if (forward && !Contains(g.saved, in)) g.saved.push_back(in);
        }
      }
    }
  }
  for (const Node& node : b.graph().nodes()) g.ops.insert(node.op());
  NABLA_ASSIGN_OR_RETURN(g.graph, b.Build());
  return g;
}

// The case's graph with its backward where Gradients can make one, and
// without where it cannot (the reason is kept in no_backward).
absl::StatusOr<CaseGraph> BuildCaseGraph(const OpCase& c) {
  absl::StatusOr<CaseGraph> g = BuildCaseGraph(c, /*with_backward=*/true);
  if (g.ok()) return g;
  absl::StatusOr<CaseGraph> forward_only =
      BuildCaseGraph(c, /*with_backward=*/false);
  if (!forward_only.ok()) return g.status();
  forward_only->no_backward = std::string(g.status().message());
  return forward_only;
}

Shape WithBatch(const Shape& shape, int64_t batch) {
  Shape::Dims dims = shape.dims();
  for (int64_t& d : dims) {
    if (d == kUnknownDim) d = batch;
  }
  return Shape(absl::MakeConstSpan(dims));
}

// PreparedPlan: a compiled plan and what it is fed.
struct PreparedPlan {
  std::unique_ptr<Session> session;
  Plan* plan = nullptr;
  std::vector<Tensor> feeds;
  Work work;
};

absl::StatusOr<std::unique_ptr<PreparedPlan>> Prepare(const OpCase& c,
                                                      int64_t batch,
                                                      bool backward) {
  NABLA_ASSIGN_OR_RETURN(CaseGraph g, BuildCaseGraph(c));
  if (backward && !g.has_backward) {
    return absl::FailedPreconditionError(
        absl::StrCat(c.name, " has no backward: ", g.no_backward));
  }
  auto p = std::make_unique<PreparedPlan>();
  NABLA_ASSIGN_OR_RETURN(p->session, Session::Create(g.graph));

  std::vector<FeedSpec> feeds;
  std::vector<Tensor> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const CaseInput& in = c.inputs[i];
    Shape shape = WithBatch(in.shape, batch);
    feeds.push_back(FeedSpec{g.inputs[i], shape});
    values.push_back(
        RandomTensor(in.dtype, shape, i + 1, in.lo, in.hi, in.classes));
  }
  // The training forward: the outputs, and what the backward will read.
  std::vector<NodeOutput> forward_fetches(g.ys.begin(), g.ys.end());
  for (NodeOutput s : g.saved) {
    if (!Contains(forward_fetches, s)) forward_fetches.push_back(s);
  }
  NABLA_ASSIGN_OR_RETURN(Plan * forward,
                         p->session->Compile(feeds, forward_fetches));
  std::vector<Tensor> forward_values;
  NABLA_RETURN_IF_ERROR(forward->Run(values, &forward_values));

  p->work.items = batch;
  if (!backward) {
    p->plan = forward;
    p->feeds = std::move(values);
    for (const Tensor& t : p->feeds) p->work.bytes += t.nbytes();
    for (const Tensor& t : forward_values) p->work.bytes += t.nbytes();
    if (c.forward_flops) p->work.flops = c.forward_flops(batch);
    return p;
  }

  // The backward: the forward's values and dy fed, the gradients fetched.
  for (NodeOutput s : g.saved) {
    const size_t k = std::find(forward_fetches.begin(), forward_fetches.end(),
                               s) - forward_fetches.begin();
    feeds.push_back(FeedSpec{s, forward_values[k].shape()});
    values.push_back(forward_values[k]);
  }
  for (size_t i = 0; i < g.grad_ys.size(); ++i) {
    const Shape& shape = forward_values[i].shape();
    feeds.push_back(FeedSpec{g.grad_ys[i], shape});
    values.push_back(RandomTensor(g.grad_ys[i].dtype(), shape, 100 + i));
  }
  std::vector<NodeOutput> grads(g.grads.begin(), g.grads.end());
  NABLA_ASSIGN_OR_RETURN(p->plan, p->session->Compile(feeds, grads));
  std::vector<Tensor> grad_values;
  NABLA_RETURN_IF_ERROR(p->plan->Run(values, &grad_values));
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (Contains(g.backward_reads, feeds[i].value)) {
      p->work.bytes += values[i].nbytes();
    }
  }
  for (const Tensor& t : grad_values) p->work.bytes += t.nbytes();
  if (c.backward_flops) p->work.flops = c.backward_flops(batch);
  p->feeds = std::move(values);
  return p;
}

// Benchmarks run their function several times while Google Benchmark sizes
// the iteration count; one cached preparation (the latest) avoids
// recompiling each time without keeping every batch's buffers alive.
template <typename T>
struct LatestCache {
  std::string key;
  std::unique_ptr<T> value;

  template <typename MakeFn>
  absl::StatusOr<T*> Get(const std::string& wanted, MakeFn make) {
    if (key != wanted || value == nullptr) {
      value.reset();
      key.clear();
      auto made = make();
      if (!made.ok()) return made.status();
      value = *std::move(made);
      key = wanted;
    }
    return value.get();
  }
};

void PlanBenchmark(benchmark::State& state, const OpCase* c, bool backward) {
  static auto* cache = new LatestCache<PreparedPlan>();
  const int64_t batch = state.range(0);
  absl::StatusOr<PreparedPlan*> prepared =
      cache->Get(absl::StrCat(c->name, backward ? "/bwd/" : "/fwd/", batch),
                 [&] { return Prepare(*c, batch, backward); });
  if (SkipIfError(state, prepared.status())) return;
  PreparedPlan& p = **prepared;
  if (SkipIfError(state, p.plan->Run(p.feeds, nullptr))) return;  // warm-up
  const AllocationCount before = Allocations();
  for (auto _ : state) {
    absl::Status status = p.plan->Run(p.feeds, nullptr);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  ReportCounters(state, p.work, before);
  // Layout conversions the executor inserted (at the plain edges, mostly):
  // a model whose neighbouring kernels agree on layouts avoids them.
  state.counters["reorders"] = p.plan->stats().num_reorders;
  state.counters["steps"] = p.plan->stats().num_steps;
}

struct PreparedRaw {
  std::unique_ptr<RawOp> op;
  Work work;
};

void RawBenchmark(benchmark::State& state, const OpCase* c, bool backward) {
  static auto* cache = new LatestCache<PreparedRaw>();
  const int64_t batch = state.range(0);
  absl::StatusOr<PreparedRaw*> prepared = cache->Get(
      absl::StrCat(c->name, backward ? "/bwd/" : "/fwd/", batch),
      [&]() -> absl::StatusOr<std::unique_ptr<PreparedRaw>> {
        auto p = std::make_unique<PreparedRaw>();
        NABLA_ASSIGN_OR_RETURN(
            p->op, backward ? c->raw_backward(batch) : c->raw_forward(batch));
        p->work.items = batch;
        for (auto* edge : {&p->op->user_inputs(), &p->op->user_outputs()}) {
          for (const dnnl::memory& m : *edge) {
            p->work.bytes += m.get_desc().get_size();
          }
        }
        const FlopFn& flops = backward ? c->backward_flops : c->forward_flops;
        if (flops) p->work.flops = flops(batch);
        return p;
      });
  if (SkipIfError(state, prepared.status())) return;
  PreparedRaw& p = **prepared;
  if (SkipIfError(state, p.op->Run())) return;  // warm-up
  const AllocationCount before = Allocations();
  for (auto _ : state) {
    absl::Status status = p.op->Run();
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  ReportCounters(state, p.work, before);
  state.counters["steps"] = p.op->steps().size();
}

void Register(const std::string& name, const OpCase& c,
              void (*fn)(benchmark::State&, const OpCase*, bool),
              bool backward) {
  benchmark::internal::Benchmark* bm = benchmark::RegisterBenchmark(
      name.c_str(), [fn, &c, backward](benchmark::State& state) {
        fn(state, &c, backward);
      });
  for (int64_t batch : c.batches) bm->Arg(batch);
  bm->UseRealTime()->Unit(benchmark::kMicrosecond);
}

// Registers every case's benchmarks, and lists on stderr the registered ops
// that no case exercises, forward or backward.
void RegisterOpBenchmarks() {
  std::set<std::string> covered;
  for (const OpCase& c : OpCases()) {
    absl::StatusOr<CaseGraph> g = BuildCaseGraph(c);
    if (!g.ok()) {
      std::fprintf(stderr, "op_bench: case %s does not build: %s\n",
                   c.name.c_str(), g.status().ToString().c_str());
      continue;
    }
    covered.insert(g->ops.begin(), g->ops.end());
    const std::string base = absl::StrCat("BM_", c.name);
    Register(base + "_Fwd", c, &PlanBenchmark, false);
    if (c.raw_forward) Register(base + "_Fwd_Raw", c, &RawBenchmark, false);
    if (g->has_backward) {
      Register(base + "_Bwd", c, &PlanBenchmark, true);
      if (c.raw_backward) Register(base + "_Bwd_Raw", c, &RawBenchmark, true);
    }
  }
  std::vector<std::string> missing;
  for (const OpSchema* op : OpRegistry::Global().All()) {
    if (op->is_gradient_op() || covered.count(op->name()) > 0) continue;
    if (op->name() == "Placeholder" || op->name() == "Const" ||
        op->name() == "Variable") {
      continue;
    }
    missing.push_back(op->name());
  }
  if (!missing.empty()) {
    std::fprintf(stderr,
                 "op_bench: registered ops no case in bench/op_cases.cc "
                 "exercises: %s\n",
                 absl::StrJoin(missing, ", ").c_str());
  }
}

}  // namespace
}  // namespace bench
}  // namespace nabla

int main(int argc, char** argv) {
  nabla::bench::RegisterOpBenchmarks();
  return nabla::bench::BenchmarkMain(argc, argv);
}
