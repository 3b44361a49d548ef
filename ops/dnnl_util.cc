#include "ops/dnnl_util.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"

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

void ExecuteArgs(const dnnl::primitive& primitive, const dnnl_exec_arg_t* args,
                 int count) {
  dnnl::error::wrap_c_api(
      dnnl_primitive_execute(primitive.get(), CpuStream().get(), count, args),
      "could not execute a primitive");
}

void PrimitiveKernel::AddArg(int arg, bool output, int index,
                             const dnnl::memory::desc& desc) {
  bindings_.push_back(Binding{UnboundMemory(desc), output, index});
  exec_args_.push_back({arg, bindings_.back().memory.get()});
}

void PrimitiveKernel::SetPrimitive(dnnl::primitive primitive,
                                   const dnnl::primitive_desc_base& pd) {
  scratchpad_ = Scratchpad(pd);
  exec_args_.push_back({DNNL_ARG_SCRATCHPAD, scratchpad_.memory().get()});
  primitive_ = std::move(primitive);
}

absl::Status PrimitiveKernel::Compute(const KernelArgs& args) {
  if (!primitive_) return absl::OkStatus();
  for (const Binding& binding : bindings_) {
    Bind(binding.memory, binding.output ? args.output(binding.index)
                                        : args.input(binding.index));
  }
  ExecuteArgs(primitive_, exec_args_.data(),
              static_cast<int>(exec_args_.size()));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Kernel>> MakePrimitiveKernel(
    absl::string_view what,
    const std::function<absl::Status(PrimitiveKernel&)>& prepare) {
  auto kernel = std::make_unique<PrimitiveKernel>();
  absl::Status prepared;
  NABLA_RETURN_IF_ERROR(
      CallDnnl(what, [&] { prepared = prepare(*kernel); }));
  NABLA_RETURN_IF_ERROR(prepared);
  return std::unique_ptr<Kernel>(std::move(kernel));
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
