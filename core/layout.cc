#include "core/layout.h"

namespace nabla {

dnnl::memory::dims DnnlDims(const Shape& shape) {
  if (shape.rank() == 0) return {1};
  return dnnl::memory::dims(shape.dims().begin(), shape.dims().end());
}

dnnl::memory::data_type DnnlType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return dnnl::memory::data_type::f32;
    case DType::kI32:
      return dnnl::memory::data_type::s32;
    case DType::kU8:
      return dnnl::memory::data_type::u8;
    default:
      // i64 has no oneDNN type; its plain layout is described as bytes.
      return dnnl::memory::data_type::u8;
  }
}

Layout PlainLayout(const Shape& shape, DType dtype) {
  dnnl::memory::dims dims = DnnlDims(shape);
  if (dtype == DType::kI64) dims.push_back(8);
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return Layout(dims, DnnlType(dtype), strides);
}

size_t LayoutBytes(const Layout& layout) { return layout.get_size(); }

}  // namespace nabla
