// Reverse-mode automatic differentiation as graph construction.
//
// Gradients() walks back from a scalar loss and asks each op's gradient rule
// (registered with the op, see graph/op_registry.h) for new nodes that
// compute the gradient of the loss with respect to the op's inputs. The
// result is part of the same graph: it serializes, loads and runs like any
// other node.
//
//   NABLA_ASSIGN_OR_RETURN(std::vector<Output> grads,
//                          Gradients(loss, {w1, b1, w2, b2}));
//
// Where an input feeds several consumers, their gradients are summed. A
// value with no path to the loss (or only paths through ops marked
// NotDifferentiable, such as ArgMax) gets a gradient of zeros. A path
// through an op with no gradient rule is an error naming the op and node.

#ifndef NABLA_GRAPH_AUTODIFF_H_
#define NABLA_GRAPH_AUTODIFF_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/builder.h"

namespace nabla {

// Adds the nodes computing d loss / d x for each x in `wrt` to the builder
// that owns `loss`, and returns them in the same order. `loss` must be an
// f32 scalar.
absl::StatusOr<std::vector<Output>> Gradients(Output loss,
                                              absl::Span<const Output> wrt);

// The general form: the gradients of sum_i <ys[i], grad_ys[i]> with respect
// to `wrt`, where each grad_ys[i] has ys[i]'s dtype and shape. With grad_ys
// a placeholder this builds exactly an op's backward pass (the benchmarks
// time backward ops this way).
absl::StatusOr<std::vector<Output>> Gradients(absl::Span<const Output> ys,
                                              absl::Span<const Output> grad_ys,
                                              absl::Span<const Output> wrt);

// GradientReadyFn is told of each gradient as soon as it is complete:
// `index` into `wrt` and the gradient itself. During the reverse sweep that
// is when the sweep reaches wrt[index], before the gradients of anything
// earlier in the graph are built; values with no path to the loss are
// reported at the end. Nodes the callback adds therefore come before those
// gradients in the graph, and the executor, which runs ready nodes in graph
// order, runs them as soon as their inputs exist: dist/ starts reducing a
// layer's gradients this way while earlier layers are still differentiated
// (PyTorch's DDP hooks autograd the same way). An error stops Gradients.
using GradientReadyFn =
    std::function<absl::Status(int index, const Output& gradient)>;

// Gradients(loss, wrt) that calls `on_ready` for every wrt[i] as above.
absl::StatusOr<std::vector<Output>> Gradients(Output loss,
                                              absl::Span<const Output> wrt,
                                              const GradientReadyFn& on_ready);

}  // namespace nabla

#endif  // NABLA_GRAPH_AUTODIFF_H_
