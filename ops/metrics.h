// Metrics: values to report while training, never to differentiate.
//
//   Output predicted = ArgMax(logits);                  // [N] i64
//   Output accuracy = Accuracy(logits, labels);         // f32 [], in [0, 1]
//
// Both pick the first of equal maxima, as NumPy and Keras do: ArgMax of
// [1, 3, 3] is 1. A NaN counts as larger than any number, so the first NaN
// wins (NumPy's rule too). Gradients() stops at these ops: they are
// NotDifferentiable.

#ifndef NABLA_OPS_METRICS_H_
#define NABLA_OPS_METRICS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

// The index of the largest element along `axis` (negative counts from the
// end), which is removed from the shape: [N,C] -> [N] for the default axis.
// x: f32, i32 or i64 of rank >= 1, with at least one element along `axis`.
Output ArgMax(Output x, int64_t axis = -1, absl::string_view name = {});

// The fraction of rows of scores [N,C] (logits or probabilities, f32) whose
// ArgMax is the row's label: class indices (i32 or i64, [N], each in
// [0, C), else the run fails with InvalidArgument naming the label) or
// one-hot rows (f32 [N,C], whose own ArgMax is the class, as in Keras's
// categorical_accuracy). An f32 scalar; 0 for an empty batch.
Output Accuracy(Output scores, Output labels, absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_METRICS_H_
