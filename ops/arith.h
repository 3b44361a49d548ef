// Elementwise arithmetic with broadcasting, and reductions.
//
// Binary ops broadcast as NumPy does: shapes are aligned at their last
// dimension, and a dimension of 1 stretches to match the other.
//
//   Output logits = Add(MatMul(x, w), bias);   // [N,10] + [10]
//   Output loss = Mean(per_example_loss);      // a scalar

#ifndef NABLA_OPS_ARITH_H_
#define NABLA_OPS_ARITH_H_

#include <vector>

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

Output Add(Output a, Output b, absl::string_view name = {});
Output Sub(Output a, Output b, absl::string_view name = {});
Output Mul(Output a, Output b, absl::string_view name = {});

// Sum or mean over `axes` (all axes when empty); `keep_dims` keeps reduced
// axes as size 1.
Output Sum(Output x, std::vector<int64_t> axes = {}, bool keep_dims = false,
           absl::string_view name = {});
Output Mean(Output x, std::vector<int64_t> axes = {}, bool keep_dims = false,
            absl::string_view name = {});

// Sums `x` down to `shape`, undoing a broadcast: the gradient of a
// broadcasting binary op. A kUnknownDim in `shape` keeps x's dimension.
Output SumTo(Output x, const Shape& shape, absl::string_view name = {});

// x converted to f32 and multiplied by `scale`: Keras's Rescaling. Lets a
// model take u8 pixels (a quarter of f32's memory) and scale them itself:
//   Output pixels = Cast(images_u8, 1.0f / 255);
Output Cast(Output x, float scale = 1.0f, absl::string_view name = {});

// Zeros of x's dtype and shape.
Output ZerosLike(Output x, absl::string_view name = {});

// The NumPy broadcast of two shapes, or an error naming both.
absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

}  // namespace nabla

#endif  // NABLA_OPS_ARITH_H_
