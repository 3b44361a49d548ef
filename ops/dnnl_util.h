// Helpers shared by the kernels in ops/: oneDNN memory descriptors for
// nabla's plain row-major tensors, memory objects bound to tensors at run
// time, and PrimitiveKernel, the kernel that runs one primitive.
//
//   return MakePrimitiveKernel(c.op(), [&](PrimitiveKernel& k) {
//     dnnl::eltwise_forward::primitive_desc pd(d, KernelAttr(), CpuEngine());
//     k.AddInput(DNNL_ARG_SRC, /*input=*/0, pd.src_desc());
//     k.AddOutput(DNNL_ARG_DST, /*output=*/0, pd.dst_desc());
//     k.SetPrimitive(dnnl::eltwise_forward(pd), pd);
//     return absl::OkStatus();
//   });

#ifndef NABLA_OPS_DNNL_UTIL_H_
#define NABLA_OPS_DNNL_UTIL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/dnnl_context.h"
#include "core/layout.h"
#include "core/shape.h"
#include "core/tensor.h"
#include "graph/op_registry.h"
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

// ExecuteArgs executes `primitive` on CpuStream() with the C API's argument
// array. oneDNN's C++ execute() copies its argument map into a new vector on
// every call; this allocates nothing. Throws dnnl::error as execute() does;
// the executor turns it into a Status.
void ExecuteArgs(const dnnl::primitive& primitive, const dnnl_exec_arg_t* args,
                 int count);

// ExecutePrimitive executes `primitive` with `args`, a braced list of
// {DNNL_ARG_*, memory} pairs, through an argument array on the stack sized
// to the list.
template <size_t N>
void ExecutePrimitive(const dnnl::primitive& primitive,
                      const std::pair<int, dnnl::memory> (&args)[N]) {
  dnnl_exec_arg_t c_args[N];
  for (size_t i = 0; i < N; ++i) {
    c_args[i] = {args[i].first, args[i].second.get()};
  }
  ExecuteArgs(primitive, c_args, static_cast<int>(N));
}

// PrimitiveKernel: a kernel that runs one oneDNN primitive. Its factory
// makes the primitive descriptor (with KernelAttr()), declares each argument
// once (which DNNL_ARG it is, its layout, and which input or output of the
// node fills it) and hands over the primitive, whose scratchpad the kernel
// then allocates and owns. Compute() points the arguments at the step's
// tensors and executes, allocating nothing. A kernel given no primitive (an
// empty batch) does nothing.
class PrimitiveKernel : public Kernel {
 public:
  // AddInput binds the primitive's argument `arg`, in layout `desc`, to the
  // node's input `input`.
  void AddInput(int arg, int input, const dnnl::memory::desc& desc) {
    AddArg(arg, /*output=*/false, input, desc);
  }
  // AddOutput binds argument `arg` to the node's output `output`.
  void AddOutput(int arg, int output, const dnnl::memory::desc& desc) {
    AddArg(arg, /*output=*/true, output, desc);
  }
  // SetPrimitive takes the primitive made from `pd` and allocates the
  // scratchpad `pd` asks for.
  void SetPrimitive(dnnl::primitive primitive,
                    const dnnl::primitive_desc_base& pd);

  absl::Status Compute(const KernelArgs& args) override;

 private:
  struct Binding {
    dnnl::memory memory;
    bool output;
    int index;
  };
  void AddArg(int arg, bool output, int index, const dnnl::memory::desc& desc);

  dnnl::primitive primitive_;
  Scratchpad scratchpad_;
  std::vector<Binding> bindings_;
  // The C API's argument array, made once: its memory handles stay, only
  // their buffers change.
  std::vector<dnnl_exec_arg_t> exec_args_;
};

// MakePrimitiveKernel makes a PrimitiveKernel and lets `prepare` declare
// its arguments and give it its primitive. A dnnl::error or std::bad_alloc
// that `prepare` throws becomes a Status starting with `what`, as in
// CallDnnl; a Status it returns is returned.
absl::StatusOr<std::unique_ptr<Kernel>> MakePrimitiveKernel(
    absl::string_view what,
    const std::function<absl::Status(PrimitiveKernel&)>& prepare);

// EmptyKernel is a kernel that does nothing, for a problem of no elements
// (an empty batch), which oneDNN's primitives do not take.
inline std::unique_ptr<Kernel> EmptyKernel() {
  return std::make_unique<PrimitiveKernel>();
}

// Fails with kInternal if `pd` fell back to a reference implementation,
// which would run orders of magnitude slower without any other sign.
absl::Status RequireOptimizedImpl(const dnnl::primitive_desc_base& pd,
                                  absl::string_view what);

}  // namespace nabla

#endif  // NABLA_OPS_DNNL_UTIL_H_
