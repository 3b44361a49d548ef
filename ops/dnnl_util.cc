#include "ops/dnnl_util.h"

#include "absl/strings/str_cat.h"

namespace nabla {

dnnl::memory UnboundMemory(const dnnl::memory::desc& desc) {
  return dnnl::memory(desc, CpuEngine(), DNNL_MEMORY_NONE);
}

dnnl::primitive_attr KernelAttr(dnnl::primitive_attr attr) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

Scratchpad::Scratchpad(const dnnl::primitive_desc_base& pd) {
  dnnl::memory::desc desc = pd.scratchpad_desc();
  buffer_ = Tensor(DType::kU8, Shape({static_cast<int64_t>(desc.get_size())}));
  memory_ = dnnl::memory(desc, CpuEngine(), buffer_.raw_data());
}

namespace {

// The most arguments any primitive nabla uses takes (convolution with bias,
// weights, scratchpad and a post-op is well under this).
constexpr int kMaxArgs = 16;

void ExecuteArgs(const dnnl::primitive& primitive, const dnnl_exec_arg_t* args,
                 int count) {
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(primitive.get(), CpuStream().get(), count, args),
      "could not execute a primitive");
}

}  // namespace

void ExecutePrimitive(const dnnl::primitive& primitive,
                      std::initializer_list<std::pair<int, dnnl::memory>> args) {
  dnnl_exec_arg_t c_args[kMaxArgs];
  int count = 0;
  for (const auto& [arg, memory] : args) {
    if (count == kMaxArgs) break;
    c_args[count++] = {arg, memory.get()};
  }
  ExecuteArgs(primitive, c_args, count);
}

void ExecutePrimitive(const dnnl::primitive& primitive,
                      const std::unordered_map<int, dnnl::memory>& args) {
  dnnl_exec_arg_t c_args[kMaxArgs];
  int count = 0;
  for (const auto& [arg, memory] : args) {
    if (count == kMaxArgs) break;
    c_args[count++] = {arg, memory.get()};
  }
  ExecuteArgs(primitive, c_args, count);
}

absl::Status RequireOptimizedImpl(const dnnl::primitive_desc_base& pd,
                                  absl::string_view what) {
  std::string impl = pd.impl_info_str();
  if (IsReferenceImpl(impl)) {
    return absl::InternalError(absl::StrCat(
        what, ": oneDNN chose its reference implementation (", impl,
        "), which would be far too slow"));
  }
  return absl::OkStatus();
}

}  // namespace nabla
