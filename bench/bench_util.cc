#include "bench/bench_util.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace nabla {
namespace bench {
namespace {

std::atomic<int64_t> g_alloc_calls{0};
std::atomic<int64_t> g_alloc_bytes{0};

void Count(std::size_t n) {
  g_alloc_calls.fetch_add(1, std::memory_order_relaxed);
  g_alloc_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
}

void* CountedAlloc(std::size_t n) {
  Count(n);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* CountedAlignedAlloc(std::size_t n, std::align_val_t align) {
  Count(n);
  void* p = nullptr;
  std::size_t a = std::max(static_cast<std::size_t>(align), sizeof(void*));
  if (posix_memalign(&p, a, n == 0 ? 1 : n) != 0) throw std::bad_alloc();
  return p;
}

std::string IsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41:
      return "sse41";
    case dnnl::cpu_isa::avx:
      return "avx";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    default:
      return absl::StrCat("isa#", static_cast<int>(isa));
  }
}

// Removes --threads=N (or --threads N) from argv; returns N, or 0 if absent.
int TakeThreadsFlag(int* argc, char** argv) {
  int threads = 0;
  std::vector<char*> kept;
  for (int i = 0; i < *argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--threads=")) {
      (void)absl::SimpleAtoi(arg, &threads);
      continue;
    }
    if (arg == "--threads" && i + 1 < *argc) {
      (void)absl::SimpleAtoi(argv[++i], &threads);
      continue;
    }
    kept.push_back(argv[i]);
  }
  for (size_t i = 0; i < kept.size(); ++i) argv[i] = kept[i];
  *argc = static_cast<int>(kept.size());
  argv[*argc] = nullptr;
  return threads;
}

}  // namespace

int BenchmarkMain(int argc, char** argv) {
  int threads = TakeThreadsFlag(&argc, argv);
  if (threads <= 0) {
    const char* env = std::getenv("NABLA_NUM_THREADS");
    if (env == nullptr || !absl::SimpleAtoi(env, &threads) || threads <= 0) {
      threads = kDefaultThreads;
    }
  }
  if (absl::Status set = SetNumThreads(threads); !set.ok()) {
    std::fprintf(stderr, "%s\n", std::string(set.message()).c_str());
    return 1;
  }
  benchmark::AddCustomContext("nabla_threads", absl::StrCat(NumThreads()));
  const dnnl_version_t* v = dnnl_version();
  benchmark::AddCustomContext(
      "onednn", absl::StrCat(v->major, ".", v->minor, ".", v->patch, " ",
                             IsaName(dnnl::get_effective_cpu_isa())));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

void FillUniform(float* data, int64_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < n; ++i) data[i] = dist(rng);
}

Tensor RandomTensor(DType dtype, const Shape& shape, uint64_t seed, float lo,
                    float hi, int64_t classes) {
  Tensor t(dtype, shape);
  std::mt19937_64 rng(seed);
  switch (dtype) {
    case DType::kF32:
      FillUniform(t.data<float>(), t.num_elements(), seed, lo, hi);
      break;
    case DType::kI32: {
      std::uniform_int_distribution<int32_t> dist(0, classes - 1);
      for (int32_t& v : t.flat<int32_t>()) v = dist(rng);
      break;
    }
    case DType::kU8: {
      std::uniform_int_distribution<int> dist(0, std::min<int64_t>(classes, 256) - 1);
      for (uint8_t& v : t.flat<uint8_t>()) v = static_cast<uint8_t>(dist(rng));
      break;
    }
    case DType::kI64: {
      std::uniform_int_distribution<int64_t> dist(0, classes - 1);
      for (int64_t& v : t.flat<int64_t>()) v = dist(rng);
      break;
    }
    default:
      break;  // other dtypes stay zero
  }
  return t;
}

AllocationCount Allocations() {
  return AllocationCount{g_alloc_calls.load(std::memory_order_relaxed),
                         g_alloc_bytes.load(std::memory_order_relaxed)};
}

void ReportCounters(benchmark::State& state, const Work& work,
                    const AllocationCount& before) {
  const AllocationCount after = Allocations();
  const double iterations = static_cast<double>(state.iterations());
  state.SetItemsProcessed(work.items * state.iterations());
  if (work.bytes > 0) state.SetBytesProcessed(work.bytes * state.iterations());
  if (work.flops > 0) {
    state.counters["FLOP/s"] = benchmark::Counter(
        work.flops * iterations, benchmark::Counter::kIsRate,
        benchmark::Counter::kIs1000);
  }
  if (iterations > 0) {
    state.counters["allocs_per_iter"] =
        static_cast<double>(after.calls - before.calls) / iterations;
    state.counters["alloc_bytes_per_iter"] =
        static_cast<double>(after.bytes - before.bytes) / iterations;
  }
}

bool SkipIfError(benchmark::State& state, const absl::Status& status) {
  if (status.ok()) return false;
  state.SkipWithError(std::string(status.ToString()).c_str());
  return true;
}

}  // namespace bench
}  // namespace nabla

// Counting replacements of the global allocation functions. They live in the
// same object file as Allocations(), which every benchmark binary calls, so
// the linker always takes them.
void* operator new(std::size_t n) { return nabla::bench::CountedAlloc(n); }
void* operator new[](std::size_t n) { return nabla::bench::CountedAlloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return nabla::bench::CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return nabla::bench::CountedAlloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) {
  return nabla::bench::CountedAlignedAlloc(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return nabla::bench::CountedAlignedAlloc(n, a);
}
void* operator new(std::size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  try {
    return nabla::bench::CountedAlignedAlloc(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  try {
    return nabla::bench::CountedAlignedAlloc(n, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  std::free(p);
}
