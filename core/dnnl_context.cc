#include "core/dnnl_context.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/tensor.h"

namespace nabla {
namespace {

int ThreadsFromEnvironment() {
  for (const char* name : {"NABLA_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* value = std::getenv(name);
    int threads = 0;
    if (value != nullptr && absl::SimpleAtoi(value, &threads) && threads > 0) {
      return threads;
    }
  }
  return omp_get_num_procs();
}

absl::StatusCode CodeFor(dnnl_status_t status) {
  switch (status) {
    case dnnl_out_of_memory:
      return absl::StatusCode::kResourceExhausted;
    case dnnl_invalid_arguments:
      return absl::StatusCode::kInvalidArgument;
    case dnnl_unimplemented:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

dnnl::engine& CpuEngine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& CpuStream() {
  static dnnl::stream* stream = new dnnl::stream(CpuEngine());
  return *stream;
}

int MaxNumThreads() { return 4 * std::max(omp_get_num_procs(), 1); }

absl::Status SetNumThreads(int threads) {
  if (threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the thread count must be positive (or 0 for the default), not ",
        threads));
  }
  const bool asked = threads > 0;
  if (!asked) threads = ThreadsFromEnvironment();
  if (threads > MaxNumThreads()) {
    std::fprintf(stderr,
                 "nabla: warning: %d threads %s, but this machine runs %d "
                 "at once; using %d (4 per core)\n",
                 threads, asked ? "asked for" : "set in the environment",
                 omp_get_num_procs(), MaxNumThreads());
    threads = MaxNumThreads();
  }
  omp_set_num_threads(threads);
  return absl::OkStatus();
}

int NumThreads() { return omp_get_max_threads(); }

absl::Status StatusFromDnnlError(absl::string_view what,
                                 const dnnl::error& e) {
  return absl::Status(CodeFor(e.status),
                      absl::StrCat(what, ": oneDNN: ", e.what()));
}

absl::Status CallDnnl(absl::string_view what, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return StatusFromDnnlError(what, e);
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryStatus(what, e);
  }
  return absl::OkStatus();
}

bool IsReferenceImpl(absl::string_view impl_info) {
  return absl::StartsWith(impl_info, "ref");
}

}  // namespace nabla
