// Softmax and log-softmax over one axis, on oneDNN's softmax primitives.
//
//   Output probs = Softmax(logits);            // [N,C], rows sum to 1
//   Output log_probs = LogSoftmax(logits);     // log(Softmax(logits)), stable
//
// Both subtract the maximum along the axis before exponentiating, so large
// logits (±100 and beyond) give finite results. Their gradients are computed
// from the output y alone, so the input can be freed after the forward pass.
// To train a classifier, prefer SoftmaxCrossEntropy (ops/losses.h) on the
// logits: it fuses the two and never forms log(0).

#ifndef NABLA_OPS_SOFTMAX_H_
#define NABLA_OPS_SOFTMAX_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

// exp(x) / sum(exp(x)) along `axis` (negative counts from the end). x must
// be f32 of rank >= 1.
Output Softmax(Output x, int64_t axis = -1, absl::string_view name = {});

// x - log(sum(exp(x))) along `axis`.
Output LogSoftmax(Output x, int64_t axis = -1, absl::string_view name = {});

// Gradient ops: dx from dy and the forward output y, along the forward's
// axis. SoftmaxGrad: y * (dy - sum(dy * y)); LogSoftmaxGrad:
// dy - exp(y) * sum(dy).
Output SoftmaxGrad(Output dy, Output y, int64_t axis = -1,
                   absl::string_view name = {});
Output LogSoftmaxGrad(Output dy, Output y, int64_t axis = -1,
                      absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_SOFTMAX_H_
