// Helpers shared by the kernels in ops/: oneDNN memory descriptors for
// nabla's plain row-major tensors, and memory objects bound to tensors at
// run time.

#ifndef NABLA_OPS_DNNL_UTIL_H_
#define NABLA_OPS_DNNL_UTIL_H_

#include <string>
#include <initializer_list>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "core/dnnl_context.h"
#include "core/layout.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace nabla {

using dnnl_dims = dnnl::memory::dims;
using dnnl_tag = dnnl::memory::format_tag;
using dnnl_dt = dnnl::memory::data_type;

// A row-major (plain) descriptor for `shape`.
inline dnnl::memory::desc PlainDesc(const Shape& shape,
                                    DType dtype = DType::kF32) {
  return PlainLayout(shape, dtype);
}

// A memory object with no buffer yet; Bind() points it at a tensor.
dnnl::memory UnboundMemory(const dnnl::memory::desc& desc);

inline void Bind(const dnnl::memory& memory, const Tensor& tensor) {
  memory.set_data_handle(tensor.raw_data());
}

// The attributes every nabla primitive is made with (plus `attr`'s): its
// scratchpad is the kernel's own, allocated once with the kernel (see
// Scratchpad), where oneDNN would otherwise allocate one on every
// execute().
dnnl::primitive_attr KernelAttr(dnnl::primitive_attr attr = {});

// Scratchpad: the scratch memory a primitive made with KernelAttr() needs,
// allocated when the kernel is prepared. Pass memory() as
// DNNL_ARG_SCRATCHPAD on every execute().
class Scratchpad {
 public:
  Scratchpad() = default;
  explicit Scratchpad(const dnnl::primitive_desc_base& pd);

  const dnnl::memory& memory() const { return memory_; }

 private:
  Tensor buffer_;
  dnnl::memory memory_;
};

// Executes `primitive` on CpuStream() with `args`, without allocating:
// oneDNN's C++ execute() copies its argument map into a new vector on every
// call, where this builds the C API's argument array on the stack. Throws
// dnnl::error as execute() does; the executor turns it into a Status.
void ExecutePrimitive(const dnnl::primitive& primitive,
                      std::initializer_list<std::pair<int, dnnl::memory>> args);
void ExecutePrimitive(const dnnl::primitive& primitive,
                      const std::unordered_map<int, dnnl::memory>& args);

// Fails with kInternal if `pd` fell back to a reference implementation,
// which would run orders of magnitude slower without any other sign.
absl::Status RequireOptimizedImpl(const dnnl::primitive_desc_base& pd,
                                  absl::string_view what);

}  // namespace nabla

#endif  // NABLA_OPS_DNNL_UTIL_H_
