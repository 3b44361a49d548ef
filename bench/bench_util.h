// Pieces shared by nabla's benchmark binaries: a main() that sets the thread
// count, random inputs, the counters every benchmark reports, and a count of
// the heap allocations made while a benchmark's timed loop runs.
//
//   static void BM_Thing(benchmark::State& state) {
//     ... prepare, run once outside the loop ...
//     nabla::bench::AllocationCount before = nabla::bench::Allocations();
//     for (auto _ : state) { ... }
//     nabla::bench::ReportCounters(state, nabla::bench::Work{batch, flops},
//                                 before);
//   }
//   int main(int argc, char** argv) {
//     return nabla::bench::BenchmarkMain(argc, argv);
//   }
//
// Threads: --threads=N on the command line, else NABLA_NUM_THREADS, else 2
// (the machines these numbers are taken on have two cores; PyTorch is run
// with the same count by bench/compare.py).

#ifndef NABLA_BENCH_BENCH_UTIL_H_
#define NABLA_BENCH_BENCH_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "benchmark/benchmark.h"
#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace nabla {
namespace bench {

// The default thread count when neither --threads nor NABLA_NUM_THREADS is
// given.
inline constexpr int kDefaultThreads = 2;

// BenchmarkMain strips --threads=N from the arguments, sets nabla's (and so
// oneDNN's) thread count, records it and the oneDNN ISA in the benchmark
// context, then runs the benchmarks the remaining flags select.
int BenchmarkMain(int argc, char** argv);

// A tensor of `shape` filled from a fixed seed: f32 uniform in [lo, hi), or,
// for integer dtypes (u8, i32, i64), integers uniform in [0, classes).
Tensor RandomTensor(DType dtype, const Shape& shape, uint64_t seed,
                    float lo = -1.0f, float hi = 1.0f, int64_t classes = 10);

// Fills `n` floats uniformly in [lo, hi) from `seed`.
void FillUniform(float* data, int64_t n, uint64_t seed, float lo = -1.0f,
                 float hi = 1.0f);

// AllocationCount: calls of the global operator new (which libdnnl and
// libstdc++ also use) and the bytes they asked for, since the process
// started. Counting costs one relaxed atomic add per allocation.
struct AllocationCount {
  int64_t calls = 0;
  int64_t bytes = 0;
};
AllocationCount Allocations();

// Work: what one iteration of a benchmark processes.
struct Work {
  int64_t items = 0;   // examples (the batch), reported as items/s
  double flops = 0;    // floating-point operations; 0: not meaningful
  int64_t bytes = 0;   // bytes read and written at the edges; 0: not given
};

// ReportCounters sets items/s, FLOP/s and bytes/s from `work`, and the
// counters allocs_per_iter and alloc_bytes_per_iter from the allocations
// made since `before` (taken just before the timed loop).
void ReportCounters(benchmark::State& state, const Work& work,
                    const AllocationCount& before);

// SkipIfError marks the benchmark failed with `status`'s message; returns
// true when it did, so callers can `if (SkipIfError(state, s)) return;`.
bool SkipIfError(benchmark::State& state, const absl::Status& status);

}  // namespace bench
}  // namespace nabla

#endif  // NABLA_BENCH_BENCH_UTIL_H_
