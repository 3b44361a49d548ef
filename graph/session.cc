#include "graph/session.h"

#include <new>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "graph/initializers.h"

namespace nabla {
namespace {

// AtBoundary runs `body`, the work of the entry point `entry`, and turns
// what it throws into the Status it returns: the one place where
// exceptions stop, rather than a try block around every allocation.
template <typename Body>
auto AtBoundary(absl::string_view entry, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc& e) {
    return OutOfMemoryStatus(entry, e);
  } catch (const dnnl::error& e) {
    return StatusFromDnnlError(entry, e);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph) {
  return AtBoundary("Session::Create",
                    [&] { return CreateUnguarded(std::move(graph)); });
}

absl::StatusOr<Plan*> Session::Compile(absl::Span<const FeedSpec> feeds,
                                       absl::Span<const NodeOutput> fetches,
                                       absl::Span<const NodeOutput> targets,
                                       CompileOptions options) {
  return AtBoundary("Session::Compile", [&] {
    return CompileUnguarded(feeds, fetches, targets, options);
  });
}

absl::StatusOr<std::vector<Tensor>> Session::Run(
    absl::Span<const std::pair<NodeOutput, Tensor>> feeds,
    absl::Span<const NodeOutput> fetches,
    absl::Span<const NodeOutput> targets) {
  return AtBoundary("Session::Run",
                    [&] { return RunUnguarded(feeds, fetches, targets); });
}

absl::Status Plan::Run(absl::Span<const Tensor> feeds,
                       std::vector<Tensor>* fetches) {
  return AtBoundary("Plan::Run", [&] { return RunUnguarded(feeds, fetches); });
}

absl::StatusOr<std::unique_ptr<Session>> Session::CreateUnguarded(Graph graph) {
  // Before anything is allocated: a graph's variables must fit its budget.
  NABLA_RETURN_IF_ERROR(CheckVariableBytes(graph));
  auto session = absl::WrapUnique(new Session(std::move(graph)));
  for (const Node& node : session->graph_.nodes()) {
    if (node.op() != "Variable") continue;
    absl::StatusOr<Tensor> value = MakeInitialValue(
        AttrReader(&node.attrs), node.outputs[0].shape, node.outputs[0].dtype);
    if (!value.ok()) {
      return Annotate(value.status(),
                      absl::StrCat("Variable node '", node.name, "'"));
    }
    NABLA_RETURN_IF_ERROR(
        session->variables_.Add(node.name, *std::move(value)));
  }
  return session;
}

absl::StatusOr<Plan*> Session::CompileUnguarded(
    absl::Span<const FeedSpec> feeds, absl::Span<const NodeOutput> fetches,
    absl::Span<const NodeOutput> targets, CompileOptions options) {
  using planner::BufferAssignment;
  using planner::KernelPlan;
  using planner::NodeSpecs;
  using planner::PrunedRequest;
  using planner::ValueTable;
  NABLA_ASSIGN_OR_RETURN(PrunedRequest request,
                         planner::Prune(graph_, feeds, fetches, targets));
  NABLA_ASSIGN_OR_RETURN(NodeSpecs specs,
                         planner::InferShapes(graph_, request));
  NABLA_ASSIGN_OR_RETURN(std::vector<int> order,
                         planner::OrderNodes(graph_, request));
  ValueTable values = planner::AnalyzeLiveness(graph_, request, specs, order);
  const bool training = planner::ResolveMode(graph_, request, options.mode) ==
                        RunMode::kTraining;
  NABLA_ASSIGN_OR_RETURN(
      KernelPlan kernels,
      planner::ChooseKernels(graph_, request, specs, order, std::move(values),
                             &variables_, training));
  BufferAssignment buffers = planner::AssignBuffers(kernels);
  GrowArena(buffers.buffer_bytes);

  auto plan = absl::WrapUnique(new Plan());
  plan->graph_ = &graph_;
  plan->session_ = this;
  const ValueTable& slots = kernels.values;
  plan->values_.resize(slots.num_slots());
  for (int i = 0; i < slots.num_feeds; ++i) {
    plan->feed_slots_.push_back(i);
    plan->feed_specs_.push_back(slots.specs[i]);
  }
  plan->fetch_slots_ = slots.fetch_slots;
  for (int s : slots.fetch_slots) plan->fetch_specs_.push_back(slots.specs[s]);
  for (const BufferAssignment::Placement& p : buffers.placements) {
    plan->arena_views_.push_back(
        Plan::ArenaView{p.slot, p.buffer, slots.specs[p.slot]});
  }
  plan->steps_ = std::move(kernels.steps);
  plan->stats_.num_steps = static_cast<int>(plan->steps_.size());
  plan->stats_.arena_bytes = buffers.arena_bytes;
  plan->stats_.unshared_bytes = buffers.unshared_bytes;
  plan->stats_.num_reorders = kernels.num_reorders;
  plan->stats_.training = training;
  plans_.push_back(std::move(plan));
  return plans_.back().get();
}

void Session::GrowArena(absl::Span<const size_t> buffer_bytes) {
  // Plans compiled earlier re-point their values at grown buffers on their
  // next run.
  for (size_t b = 0; b < buffer_bytes.size(); ++b) {
    if (b == arena_.size()) arena_.emplace_back();
    if (arena_[b].empty() || arena_[b].capacity() < buffer_bytes[b]) {
      arena_[b] =
          Tensor(DType::kU8, Shape({static_cast<int64_t>(buffer_bytes[b])}));
      ++arena_generation_;
    }
  }
}

void Plan::BindArena() {
  for (const ArenaView& view : arena_views_) {
    values_[view.slot] =
        session_->arena_[view.buffer].ViewAs(view.spec.dtype, view.spec.shape);
  }
  bound_generation_ = session_->arena_generation_;
}

void Plan::PrepareFetches(std::vector<Tensor>* fetches) const {
  fetches->resize(fetch_slots_.size());
  for (size_t i = 0; i < fetch_slots_.size(); ++i) {
    const TensorSpec& spec = fetch_specs_[i];
    Tensor& out = (*fetches)[i];
    if (out.empty() || out.dtype() != spec.dtype || out.shape() != spec.shape ||
        out.SharesBufferWith(values_[fetch_slots_[i]])) {
      out = Tensor(spec.dtype, spec.shape);
    }
  }
}

absl::Status Plan::RunUnguarded(absl::Span<const Tensor> feeds,
                                std::vector<Tensor>* fetches) {
  if (bound_generation_ != session_->arena_generation_) BindArena();
  if (feeds.size() != feed_slots_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plan takes ", feed_slots_.size(), " feeds, got ", feeds.size()));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    const TensorSpec& expected = feed_specs_[i];
    if (feeds[i].dtype() != expected.dtype ||
        feeds[i].shape() != expected.shape) {
      return absl::InvalidArgumentError(absl::StrCat("feed ", i, " is ",
                                                     feeds[i].DebugString(),
                                                     " but the plan was "
                                                     "compiled for ",
                                                     expected.ToString()));
    }
  }
  for (size_t i = 0; i < feeds.size(); ++i) values_[feed_slots_[i]] = feeds[i];
  if (fetches != nullptr) PrepareFetches(fetches);
  for (planner::PlannedStep& step : steps_) {
    absl::Status status;
    try {
      status = step.kernel->Compute(
          KernelArgs(values_.data(), step.inputs.data(), step.outputs.data()));
    } catch (const dnnl::error& e) {
      status = StatusFromDnnlError("running", e);
    } catch (const std::bad_alloc& e) {
      status = OutOfMemoryStatus("running", e);
    }
    if (!status.ok()) {
      const Node& node = graph_->node(step.node);
      return Annotate(status,
                      absl::StrCat(node.op(), " node '", node.name, "'"));
    }
  }
  if (fetches == nullptr) return absl::OkStatus();
  for (size_t i = 0; i < fetch_slots_.size(); ++i) {
    const Tensor& value = values_[fetch_slots_[i]];
    Tensor& out = (*fetches)[i];
    if (out.dtype() == value.dtype() && out.shape() == value.shape() &&
        !out.SharesBufferWith(value)) {
      NABLA_RETURN_IF_ERROR(out.CopyFrom(value));
    } else {
      // A value a kernel set itself that does not look as compiled, or
      // turned out to share the buffer PrepareFetches chose.
      out = value.Clone();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> Session::RunUnguarded(
    absl::Span<const std::pair<NodeOutput, Tensor>> feeds,
    absl::Span<const NodeOutput> fetches,
    absl::Span<const NodeOutput> targets) {
  std::string key;
  std::vector<FeedSpec> feed_specs;
  std::vector<Tensor> feed_values;
  for (const auto& [ref, value] : feeds) {
    absl::StrAppend(&key, ref.node, ":", ref.index, "=", value.DebugString(),
                    ";");
    feed_specs.push_back(FeedSpec{ref, value.shape()});
    feed_values.push_back(value);
  }
  absl::StrAppend(&key, "|");
  for (NodeOutput f : fetches) absl::StrAppend(&key, f.node, ":", f.index, ";");
  absl::StrAppend(&key, "|");
  for (NodeOutput t : targets) absl::StrAppend(&key, t.node, ":", t.index, ";");

  Plan*& plan = plan_cache_[key];
  if (plan == nullptr) {
    absl::StatusOr<Plan*> compiled = Compile(feed_specs, fetches, targets);
    if (!compiled.ok()) {
      plan_cache_.erase(key);
      return compiled.status();
    }
    plan = *compiled;
  }
  std::vector<Tensor> outputs;
  NABLA_RETURN_IF_ERROR(plan->Run(feed_values, &outputs));
  return outputs;
}

}  // namespace nabla
