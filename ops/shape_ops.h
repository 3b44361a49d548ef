// Ops that change only how a tensor's elements are indexed.
//
//   Output flat = Flatten(pooled);                  // [N,64,4,4] -> [N,1024]
//   Output img = Reshape(x, {kUnknownDim, 1, 28, 28});

#ifndef NABLA_OPS_SHAPE_OPS_H_
#define NABLA_OPS_SHAPE_OPS_H_

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

// Same elements, new shape. At most one dimension of `shape` may be
// kUnknownDim; it takes whatever size makes the element counts agree.
// Costs nothing at run time: the result shares x's buffer.
Output Reshape(Output x, const Shape& shape, absl::string_view name = {});

// Keeps dimension 0 (the batch) and flattens the rest: [N, ...] -> [N, M].
Output Flatten(Output x, absl::string_view name = {});

// x itself: Keras's "linear" activation.
Output Identity(Output x, absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_SHAPE_OPS_H_
