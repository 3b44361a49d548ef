// Loss functions: each reduces a batch to one f32 scalar to minimize.
//
//   Output logits = Dense(h, w, b);                      // [N,10]
//   Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI64);
//   Output loss = SoftmaxCrossEntropy(logits, labels);   // f32 []
//   auto grads = Gradients(loss, {w, b});
//
// `reduction` is Reduction::kMean (the default, as in Keras) or kSum:
//   - the cross entropies over [N,C] rows average (or add) the N per-example
//     losses;
//   - the binary cross entropies average (or add) over every element. For
//     labels of shape [N] or [N,1] that is exactly Keras's result. For
//     [N,K], "mean" still equals Keras's (which averages over the last axis,
//     then over the batch), while "sum" is K times Keras's "sum".
// An empty batch gives a loss of 0, not NaN.
//
// Labels receive no gradient, not even the f32 probability rows that the
// cross entropies accept: Gradients() gives zeros for them.
//
// Class labels come in two forms wherever a loss or metric takes [N,C]
// scores: class indices (i32 or i64, shape [N], each in [0, C)) or rows of
// class probabilities, typically one-hot (f32, shape [N,C]). An index out of
// range fails the run with InvalidArgument naming the example and the label.

#ifndef NABLA_OPS_LOSSES_H_
#define NABLA_OPS_LOSSES_H_

#include "absl/strings/string_view.h"
#include "graph/builder.h"

namespace nabla {

enum class Reduction { kMean, kSum };

// The clipping bound of losses on probabilities: Keras's epsilon().
inline constexpr double kProbabilityEpsilon = 1e-7;

// Cross entropy of softmax(logits) against the labels, computed from the
// logits directly (log-sum-exp), so logits of any size give a finite loss.
// logits: f32 [N,C]. Its gradient, softmax(logits) - labels (divided by N
// for the mean), is formed in the same pass and kept as the node's second
// output ("backprop"), so the backward pass costs one multiply by dloss.
// When nothing reads that output (inference), the kernel skips it.
Output SoftmaxCrossEntropy(Output logits, Output labels,
                           Reduction reduction = Reduction::kMean,
                           absl::string_view name = {});

// SoftmaxCrossEntropy with label smoothing e in [0, 1] (attr
// "label_smoothing"), the convention of Keras's CategoricalCrossentropy and
// PyTorch's F.cross_entropy(label_smoothing=e): with K classes and z the
// one-hot row of an index label (or the given probability row), the target
// is t = (1 - e) * z + e / K, the loss of a row
//
//   -sum_j t_j * log softmax(x)_j
//     = (1 - e) * sum_j z_j * (lse(x) - x_j) + e / K * sum_j (lse(x) - x_j)
//
// and its gradient (the "backprop" output) (softmax(x) - t) / N for the
// mean, softmax(x) - t for the sum. e = 0 is SoftmaxCrossEntropy exactly.
Output SoftmaxCrossEntropy(Output logits, Output labels, float label_smoothing,
                           Reduction reduction = Reduction::kMean,
                           absl::string_view name = {});

// Keras's categorical_crossentropy on probabilities: -sum(z * log(p)) per
// row, with p clipped to [1e-7, 1 - 1e-7] so that probabilities of exactly
// 0 or 1 give a finite loss; where p lies outside that range its gradient is
// 0 (as for a clip), so the gradient is finite too. probs: f32 [N,C].
// Unlike Keras, rows are not rescaled to sum to 1 first: for softmax
// outputs that changes only rounding, and the gradient it would add is the
// same for every class of a row, which the softmax's backward cancels.
Output CategoricalCrossEntropy(Output probs, Output labels,
                               Reduction reduction = Reduction::kMean,
                               absl::string_view name = {});

// -(z * log(p) + (1 - z) * log(1 - p)) per element, p clipped as above
// (Keras adds a further 1e-7 inside each log, which changes the loss only
// for clipped probabilities). probs and labels: f32 of the same shape.
Output BinaryCrossEntropy(Output probs, Output labels,
                          Reduction reduction = Reduction::kMean,
                          absl::string_view name = {});

// Binary cross entropy of sigmoid(x) in the stable form
// max(x, 0) - x * z + log(1 + exp(-|x|)). logits and labels: f32 of the
// same shape.
Output BinaryCrossEntropyWithLogits(Output logits, Output labels,
                                    Reduction reduction = Reduction::kMean,
                                    absl::string_view name = {});

// Gradient ops: d loss / d (probs or logits), given d(final) / d loss as the
// f32 scalar dloss and the forward inputs.
Output CategoricalCrossEntropyGrad(Output dloss, Output probs, Output labels,
                                   Reduction reduction,
                                   absl::string_view name = {});
Output BinaryCrossEntropyGrad(Output dloss, Output probs, Output labels,
                              Reduction reduction, absl::string_view name = {});
Output BinaryCrossEntropyWithLogitsGrad(Output dloss, Output logits,
                                        Output labels, Reduction reduction,
                                        absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_OPS_LOSSES_H_
