// Labels for classification, shared by the losses and the metrics: class
// indices (i32 or i64 [batch]) or rows of class probabilities, one-hot rows
// included (f32 [batch, classes]).

#ifndef NABLA_OPS_CLASS_LABELS_H_
#define NABLA_OPS_CLASS_LABELS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/op_registry.h"

namespace nabla {

// CheckClassLabels checks scores [batch, classes] (called `what` in
// messages) against labels of either form.
absl::Status CheckClassLabels(const Shape& scores, const TensorSpec& labels,
                              absl::string_view what);

}  // namespace nabla

#endif  // NABLA_OPS_CLASS_LABELS_H_
