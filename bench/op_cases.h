// The table of op benchmarks: one OpCase per op (or per layer of the
// lecture's MNIST model where an op appears at two shapes), from which
// bench/op_bench.cc makes BM_<Name>_Fwd and BM_<Name>_Bwd, and, where a raw
// oneDNN baseline exists, BM_<Name>_Fwd_Raw and BM_<Name>_Bwd_Raw, each
// over the batch sizes of the case.
//
// A case is data: its inputs (placeholders, with kUnknownDim for the batch),
// a function that adds the op on them, and its FLOP counts. The generic
// benchmarks do the rest (forward: a plan computing the op's outputs and
// whatever its backward reads; backward: Gradients(ys, grad_ys, wrt) with
// the forward's values fed, so only backward ops run). Benchmarking an op
// registered later is one more entry in op_cases.cc:
//
//   OpCase c;
//   c.name = "Gelu";
//   c.inputs = {CaseInput("x", {kUnknownDim, 32, 24, 24})};
//   c.build = [](GraphBuilder&, const std::vector<Output>& in) {
//     return std::vector<Output>{Gelu(in[0])};
//   };
//   cases.push_back(std::move(c));

#ifndef NABLA_BENCH_OP_CASES_H_
#define NABLA_BENCH_OP_CASES_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/raw_dnnl.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "graph/builder.h"

namespace nabla {
namespace bench {

// CaseInput: one placeholder the op reads.
struct CaseInput {
  CaseInput(std::string name, const Shape& shape, DType dtype = DType::kF32)
      : name(std::move(name)), shape(shape), dtype(dtype) {}

  std::string name;
  Shape shape;  // kUnknownDim marks the batch dimension
  DType dtype = DType::kF32;
  // The backward benchmark computes the gradient with respect to it (f32
  // only). The lecture's first convolution needs none for its images.
  bool differentiable = true;
  // Random contents: f32 uniform in [lo, hi); integers in [0, classes).
  float lo = -1.0f, hi = 1.0f;
  int64_t classes = 10;

  CaseInput& NoGradient() {
    differentiable = false;
    return *this;
  }
  CaseInput& Range(float low, float high) {
    lo = low;
    hi = high;
    return *this;
  }
};

using BuildFn = std::function<std::vector<Output>(
    GraphBuilder& b, const std::vector<Output>& inputs)>;
using FlopFn = std::function<double(int64_t batch)>;
using RawFactory = std::function<RawOpOr(int64_t batch)>;

// OpCase: everything needed to benchmark one op.
struct OpCase {
  std::string name;  // benchmarks are BM_<name>_Fwd, BM_<name>_Bwd
  std::vector<CaseInput> inputs;
  // Adds the op on `inputs` (placeholders, in order); returns the values the
  // forward produces and the backward differentiates (ys).
  BuildFn build;
  // Floating-point operations of one forward / backward call at `batch`;
  // unset where a FLOP rate means nothing (pooling, copies, activations).
  FlopFn forward_flops, backward_flops;
  // The same computation on raw oneDNN primitives; unset where oneDNN has
  // no counterpart.
  RawFactory raw_forward, raw_backward;
  std::vector<int64_t> batches = {1, 32, 128, 512};
};

// The cases, built once.
const std::vector<OpCase>& OpCases();

}  // namespace bench
}  // namespace nabla

#endif  // NABLA_BENCH_OP_CASES_H_
