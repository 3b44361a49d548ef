// Layout: how a tensor's elements lie in its buffer.
//
// Tensors users see are plain (row-major). Inside a compiled plan, values
// passed between oneDNN kernels may instead keep a blocked layout a
// primitive chose (for example aBcd8b for convolution outputs on AVX2), so
// that no reorder runs between two kernels that agree; the executor reorders
// only where a consumer wants another layout, and at fetches.

#ifndef NABLA_CORE_LAYOUT_H_
#define NABLA_CORE_LAYOUT_H_

#include "core/dtype.h"
#include "core/shape.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace nabla {

using Layout = dnnl::memory::desc;

// The dims of a shape; a scalar becomes {1}, since oneDNN has no rank 0.
dnnl::memory::dims DnnlDims(const Shape& shape);

dnnl::memory::data_type DnnlType(DType dtype);

// The row-major layout of `shape`.
Layout PlainLayout(const Shape& shape, DType dtype = DType::kF32);

// Bytes a buffer in `layout` needs (blocked layouts may pad).
size_t LayoutBytes(const Layout& layout);

}  // namespace nabla

#endif  // NABLA_CORE_LAYOUT_H_
