// The process's one oneDNN CPU engine and stream, its thread count, and the
// single place where a dnnl::error becomes an absl::Status.
//
//   NABLA_RETURN_IF_ERROR(CallDnnl("conv2d forward", [&] {
//     primitive_ = dnnl::convolution_forward(pd);
//   }));

#ifndef NABLA_CORE_DNNL_CONTEXT_H_
#define NABLA_CORE_DNNL_CONTEXT_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace nabla {

// The CPU engine every kernel uses.
dnnl::engine& CpuEngine();

// The in-order stream every kernel executes on.
dnnl::stream& CpuStream();

// MaxNumThreads is the most threads SetNumThreads grants: 4 per core
// available to the process. More only slows oneDNN down, and libgomp
// crashes when it cannot create the threads it was asked for.
int MaxNumThreads();

// SetNumThreads fixes the number of threads oneDNN and nabla's own loops
// use. `threads` == 0 picks NABLA_NUM_THREADS, then OMP_NUM_THREADS from
// the environment, then the number of cores. A count above MaxNumThreads()
// (asked for or from the environment) is capped to it with a warning on
// stderr; a negative count is InvalidArgument and changes nothing.
absl::Status SetNumThreads(int threads);

// NumThreads returns the number of threads in use.
int NumThreads();

// CallDnnl runs `fn`, turning a dnnl::error it throws into a Status whose
// message starts with `what`. oneDNN's "unimplemented" becomes
// kUnimplemented, "out of memory" kResourceExhausted, bad arguments
// kInvalidArgument and the rest kInternal.
absl::Status CallDnnl(absl::string_view what, const std::function<void()>& fn);

// StatusFromDnnlError maps a caught dnnl::error as CallDnnl does; for the
// executor's own try block around running kernels.
absl::Status StatusFromDnnlError(absl::string_view what, const dnnl::error& e);

// IsReferenceImpl is true for oneDNN's slow reference implementations, which
// a hot primitive must never silently fall back to.
bool IsReferenceImpl(absl::string_view impl_info);

}  // namespace nabla

#endif  // NABLA_CORE_DNNL_CONTEXT_H_
