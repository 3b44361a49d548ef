#include "ops/dnnl_util.h"

#include "absl/strings/str_cat.h"

namespace nabla {

dnnl::memory UnboundMemory(const dnnl::memory::desc& desc) {
  return dnnl::memory(desc, CpuEngine(), DNNL_MEMORY_NONE);
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

LayoutBridge::LayoutBridge(const dnnl::memory::desc& plain,
                           const dnnl::memory::desc& chosen, bool to_chosen)
    : needed_(plain != chosen), to_chosen_(to_chosen) {
  plain_ = UnboundMemory(plain);
  if (!needed_) return;
  scratch_ = Tensor(DType::kU8, Shape({static_cast<int64_t>(chosen.get_size())}));
  chosen_ = dnnl::memory(chosen, CpuEngine(), scratch_.raw_data());
  reorder_ = to_chosen ? dnnl::reorder(plain_, chosen_)
                       : dnnl::reorder(chosen_, plain_);
}

void LayoutBridge::Run(dnnl::stream& stream) {
  if (!needed_) return;
  if (to_chosen_) {
    reorder_.execute(stream, plain_, chosen_);
  } else {
    reorder_.execute(stream, chosen_, plain_);
  }
}

}  // namespace nabla
