#include "graph/autodiff.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace nabla {
namespace {

// Sums the contributions to one gradient; a single one is returned as is.
Output SumAll(GraphBuilder* b, const std::vector<Output>& terms,
              absl::string_view name) {
  Output total = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) {
    total = b->AddOp1("Add", {total, terms[i]}, {},
                      b->UniqueName(absl::StrCat(name, "/sum")));
  }
  return total;
}

absl::StatusOr<std::vector<Output>> GradientsImpl(
    absl::Span<const Output> ys, absl::Span<const Output> grad_ys,
    absl::Span<const Output> wrt, const GradientReadyFn& on_ready);

}  // namespace

absl::StatusOr<std::vector<Output>> Gradients(Output loss,
                                              absl::Span<const Output> wrt) {
  return Gradients(loss, wrt, nullptr);
}

absl::StatusOr<std::vector<Output>> Gradients(Output loss,
                                              absl::Span<const Output> wrt,
                                              const GradientReadyFn& on_ready) {
  if (!loss.valid()) {
    return absl::InvalidArgumentError("Gradients: the loss is not a valid value");
  }
  NABLA_RETURN_IF_ERROR(loss.builder()->status());
  if (loss.dtype() != DType::kF32 || loss.shape().rank() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Gradients: the loss '", loss.name(), "' must be an f32 scalar, not ",
        loss.spec().ToString()));
  }
  GraphBuilder* b = loss.builder();
  Output ones = b->Scalar(
      1.0f, b->UniqueName(absl::StrCat(
                b->graph().node(loss.ref().node).name, "_grad/ones")));
  return GradientsImpl({loss}, {ones}, wrt, on_ready);
}

absl::StatusOr<std::vector<Output>> Gradients(absl::Span<const Output> ys,
                                              absl::Span<const Output> grad_ys,
                                              absl::Span<const Output> wrt) {
  return GradientsImpl(ys, grad_ys, wrt, nullptr);
}

namespace {

absl::StatusOr<std::vector<Output>> GradientsImpl(
    absl::Span<const Output> ys, absl::Span<const Output> grad_ys,
    absl::Span<const Output> wrt, const GradientReadyFn& on_ready) {
  if (ys.empty() || ys.size() != grad_ys.size()) {
    return absl::InvalidArgumentError(
        "Gradients: give one initial gradient for each of at least one value");
  }
  GraphBuilder* b = ys[0].builder();
  if (b == nullptr) {
    return absl::InvalidArgumentError("Gradients: ys[0] is not a valid value");
  }
  NABLA_RETURN_IF_ERROR(b->status());
  for (size_t i = 0; i < ys.size(); ++i) {
    if (!ys[i].valid() || ys[i].builder() != b || !grad_ys[i].valid() ||
        grad_ys[i].builder() != b) {
      return absl::InvalidArgumentError(
          "Gradients: ys and grad_ys must be valid values of one builder");
    }
    if (!(ys[i].spec() == grad_ys[i].spec())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Gradients: initial gradient '", grad_ys[i].name(), "' is ",
          grad_ys[i].spec().ToString(), " but '", ys[i].name(), "' is ",
          ys[i].spec().ToString()));
    }
  }
  for (const Output& x : wrt) {
    if (!x.valid() || x.builder() != b) {
      return absl::InvalidArgumentError(
          "Gradients: every value to differentiate with respect to must be a "
          "valid value of the loss's builder");
    }
  }

  int last = 0;
  for (const Output& y : ys) last = std::max(last, y.ref().node);
  // Nodes on a path from some x in `wrt` to the loss.
  std::vector<bool> from_wrt(last + 1, false);
  for (const Output& x : wrt) {
    if (x.ref().node <= last) from_wrt[x.ref().node] = true;
  }
  for (int id = 0; id <= last; ++id) {
    for (NodeOutput in : b->graph().node(id).inputs) {
      if (from_wrt[in.node]) from_wrt[id] = true;
    }
  }
  std::vector<bool> to_loss(last + 1, false);
  for (const Output& y : ys) to_loss[y.ref().node] = true;
  for (int id = last; id >= 0; --id) {
    if (!to_loss[id]) continue;
    for (NodeOutput in : b->graph().node(id).inputs) to_loss[in.node] = true;
  }

  // Where each value of `wrt` sits in it, for on_ready.
  absl::flat_hash_map<NodeOutput, std::vector<int>> wrt_index;
  for (int i = 0; i < static_cast<int>(wrt.size()); ++i) {
    wrt_index[wrt[i].ref()].push_back(i);
  }
  std::vector<bool> reported(wrt.size(), false);

  absl::flat_hash_map<NodeOutput, std::vector<Output>> pending;
  for (size_t i = 0; i < ys.size(); ++i) {
    pending[ys[i].ref()].push_back(grad_ys[i]);
  }

  for (int id = last; id >= 0; --id) {
    if (!from_wrt[id] || !to_loss[id]) continue;
    // Copied: gradient rules append nodes, which may move the graph's nodes.
    const Node node = b->graph().node(id);
    std::vector<Output> dys;
    bool any_dy = false;
    for (int k = 0; k < static_cast<int>(node.outputs.size()); ++k) {
      auto it = pending.find(NodeOutput{id, k});
      if (it == pending.end()) {
        dys.emplace_back();
        continue;
      }
      Output sum = SumAll(b, it->second, absl::StrCat(node.name, "_grad"));
      it->second = {sum};
      dys.push_back(sum);
      any_dy = true;
      // Every consumer comes later in the graph and has been visited, so
      // this sum is the value's whole gradient.
      auto at = wrt_index.find(NodeOutput{id, k});
      if (on_ready && at != wrt_index.end()) {
        for (int i : at->second) {
          reported[i] = true;
          NABLA_RETURN_IF_ERROR(on_ready(i, sum));
        }
        NABLA_RETURN_IF_ERROR(b->status());
      }
    }
    if (!any_dy || node.inputs.empty() || node.schema->not_differentiable()) {
      continue;
    }
    bool any_input_on_path = false;
    for (NodeOutput in : node.inputs) any_input_on_path |= from_wrt[in.node];
    if (!any_input_on_path) continue;
    if (node.schema->is_gradient_op()) {
      return absl::UnimplementedError(absl::StrCat(
          "Gradients: ", node.op(), " node '", node.name,
          "' lies between the loss and a value to differentiate, but ",
          node.op(), " is itself a gradient op and nabla does not take "
          "second derivatives"));
    }
    if (!node.schema->gradient()) {
      return absl::UnimplementedError(absl::StrCat(
          "Gradients: ", node.op(), " node '", node.name,
          "' lies between the loss and a value to differentiate, but op ",
          node.op(), " has no gradient rule"));
    }
    std::vector<Output> xs, ys;
    for (NodeOutput in : node.inputs) xs.emplace_back(b, in);
    for (int k = 0; k < static_cast<int>(node.outputs.size()); ++k) {
      ys.emplace_back(b, NodeOutput{id, k});
    }
    GradContext context(b, id, &node.attrs, xs, ys, dys);
    GradResult dxs = node.schema->gradient()(context);
    if (!dxs.ok()) {
      return Annotate(dxs.status(), absl::StrCat("Gradients: ", node.op(),
                                                 " node '", node.name, "'"));
    }
    NABLA_RETURN_IF_ERROR(b->status());
    if (dxs->size() != node.inputs.size()) {
      return absl::InternalError(absl::StrCat(
          "Gradients: the rule for ", node.op(), " returned ", dxs->size(),
          " gradients for ", node.inputs.size(), " inputs"));
    }
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      if ((*dxs)[i].valid() && from_wrt[node.inputs[i].node]) {
        pending[node.inputs[i]].push_back((*dxs)[i]);
      }
    }
  }

  std::vector<Output> grads;
  for (const Output& x : wrt) {
    auto it = pending.find(x.ref());
    if (it == pending.end()) {
      grads.push_back(b->AddOp1(
          "ZerosLike", {x}, {},
          b->UniqueName(absl::StrCat(x.builder()->graph().node(x.ref().node).name,
                                     "_grad/zeros"))));
    } else {
      grads.push_back(SumAll(b, it->second,
                             absl::StrCat(b->graph().node(x.ref().node).name,
                                          "_grad")));
    }
  }
  NABLA_RETURN_IF_ERROR(b->status());
  for (int i = 0; on_ready && i < static_cast<int>(wrt.size()); ++i) {
    if (!reported[i]) NABLA_RETURN_IF_ERROR(on_ready(i, grads[i]));
  }
  NABLA_RETURN_IF_ERROR(b->status());
  return grads;
}

}  // namespace
}  // namespace nabla
