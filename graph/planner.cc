#include "graph/planner.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "graph/topo_order.h"

namespace nabla {
namespace planner {
namespace {

// Converts a value between two layouts; the planner adds one wherever a
// kernel wants an input in another layout than its producer wrote.
class ReorderKernel : public Kernel {
 public:
  ReorderKernel(const Layout& from, const Layout& to)
      : src_(from, CpuEngine(), DNNL_MEMORY_NONE),
        dst_(to, CpuEngine(), DNNL_MEMORY_NONE),
        reorder_(src_, dst_) {}

  absl::Status Compute(const KernelArgs& args) override {
    src_.set_data_handle(args.input(0).raw_data());
    dst_.set_data_handle(args.output(0).raw_data());
    // The C API with a stack array: the C++ execute() allocates per call.
    dnnl_exec_arg_t c_args[2] = {{DNNL_ARG_FROM, src_.get()},
                                 {DNNL_ARG_TO, dst_.get()}};
    dnnl::error::wrap_c_api(
        dnnl_primitive_execute(reorder_.get(), CpuStream().get(), 2, c_args),
        "could not execute a reorder");
    return absl::OkStatus();
  }

 private:
  dnnl::memory src_, dst_;
  dnnl::reorder reorder_;
};

// Runs a kernel that updates variables in place (OpSchema::WritesInput),
// then bumps their versions (VariableStore), so that kernels caching
// something derived from them see the write.
class VersionBumpingKernel : public Kernel {
 public:
  VersionBumpingKernel(std::unique_ptr<Kernel> kernel, VariableStore* variables,
                       std::vector<std::string> written)
      : kernel_(std::move(kernel)),
        variables_(variables),
        written_(std::move(written)) {}

  absl::Status Compute(const KernelArgs& args) override {
    absl::Status status = kernel_->Compute(args);
    for (const std::string& name : written_) variables_->MarkWritten(name);
    return status;
  }

 private:
  std::unique_ptr<Kernel> kernel_;
  VariableStore* variables_;
  std::vector<std::string> written_;
};

absl::Status CheckRef(const Graph& graph, NodeOutput ref,
                      absl::string_view what) {
  if (ref.node < 0 || ref.node >= graph.num_nodes() || ref.index < 0 ||
      ref.index >= static_cast<int>(graph.node(ref.node).outputs.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " refers to output ", ref.index, " of node ",
                     ref.node, ", which this session's graph does not have"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PrunedRequest> Prune(const Graph& graph,
                                    absl::Span<const FeedSpec> feeds,
                                    absl::Span<const NodeOutput> fetches,
                                    absl::Span<const NodeOutput> targets) {
  const Graph& g = graph;
  PrunedRequest request;
  request.feeds.assign(feeds.begin(), feeds.end());
  request.fetches.assign(fetches.begin(), fetches.end());
  for (int i = 0; i < static_cast<int>(feeds.size()); ++i) {
    const FeedSpec& feed = feeds[i];
    NABLA_RETURN_IF_ERROR(CheckRef(g, feed.value, "a feed"));
    if (g.node(feed.value.node).op() == "Variable") {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", g.OutputName(feed.value),
          "' cannot be fed; assign it through Session::variables()"));
    }
    const TensorSpec& declared = g.spec(feed.value);
    if (!feed.shape.IsFullyDefined() ||
        !feed.shape.IsCompatibleWith(declared.shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          g.node(feed.value.node).op() == "Placeholder" ? "placeholder '"
                                                        : "value '",
          g.OutputName(feed.value), "' is ", declared.ToString(),
          "; cannot feed shape ", feed.shape.ToString()));
    }
    if (!request.feed_index.emplace(feed.value, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", g.OutputName(feed.value), "' is fed twice"));
    }
  }
  for (NodeOutput f : fetches) NABLA_RETURN_IF_ERROR(CheckRef(g, f, "a fetch"));
  for (NodeOutput t : targets) {
    NABLA_RETURN_IF_ERROR(CheckRef(g, t, "a target"));
  }

  // Everything fetches and targets depend on, stopping at fed values (this
  // is how benchmarks time backward ops alone, feeding the forward outputs).
  std::vector<bool>& needed = request.runs;
  needed.assign(g.num_nodes(), false);
  std::vector<int> stack;
  for (NodeOutput f : fetches) {
    if (!request.IsFed(f)) stack.push_back(f.node);
  }
  for (NodeOutput t : targets) stack.push_back(t.node);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = true;
    for (NodeOutput in : g.node(id).inputs) {
      if (!request.IsFed(in)) stack.push_back(in.node);
    }
  }
  for (const FeedSpec& feed : feeds) {
    if (needed[feed.value.node] &&
        g.node(feed.value.node).op() != "Placeholder") {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot feed '", g.OutputName(feed.value), "': node '",
                       g.node(feed.value.node).name,
                       "' must run anyway for another of its outputs"));
    }
  }
  for (int id = 0; id < g.num_nodes(); ++id) {
    const Node& node = g.node(id);
    if (!needed[id] || node.op() != "Placeholder") continue;
    if (!request.IsFed(NodeOutput{id, 0})) {
      return absl::InvalidArgumentError(absl::StrCat(
          "placeholder '", node.name, "' ", node.outputs[0].ToString(),
          " must be fed to compute what was asked for"));
    }
    needed[id] = false;  // its value comes from the feed
  }
  return request;
}

TensorSpec InputSpec(const Graph& graph, const PrunedRequest& request,
                     const NodeSpecs& specs, NodeOutput ref) {
  auto fed = request.feed_index.find(ref);
  if (fed != request.feed_index.end()) {
    return TensorSpec{graph.spec(ref).dtype, request.feeds[fed->second].shape};
  }
  return specs[ref.node][ref.index];
}

absl::StatusOr<NodeSpecs> InferShapes(const Graph& graph,
                                      const PrunedRequest& request) {
  NodeSpecs specs(graph.num_nodes());
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!request.runs[id]) continue;
    const Node& node = graph.node(id);
    std::vector<TensorSpec> inputs;
    for (NodeOutput in : node.inputs) {
      inputs.push_back(InputSpec(graph, request, specs, in));
    }
    absl::StatusOr<std::vector<TensorSpec>> outputs =
        InferOutputs(*node.schema, node.name, node.attrs, inputs,
                     graph.options().max_elements);
    if (!outputs.ok()) {
      return Annotate(outputs.status(),
                      DescribeNode(node.op(), node.name, inputs));
    }
    specs[id] = *std::move(outputs);
  }
  return specs;
}

absl::StatusOr<std::vector<int>> OrderNodes(const Graph& graph,
                                            const PrunedRequest& request) {
  const Graph& g = graph;
  const int n = g.num_nodes();
  DependencyGraph dependencies(n);
  std::vector<std::vector<int>> readers(n);
  for (int id = 0; id < n; ++id) {
    if (!request.runs[id]) {
      dependencies.Exclude(id);
      continue;
    }
    for (NodeOutput in : g.node(id).inputs) {
      if (request.IsFed(in)) continue;
      dependencies.AddEdge(in.node, id);
      readers[in.node].push_back(id);
    }
  }
  // Who reads a variable: its consumers, and the consumers of views of it.
  auto readers_of = [&](int variable) {
    std::vector<int> result;
    std::vector<int> frontier = {variable};
    while (!frontier.empty()) {
      int v = frontier.back();
      frontier.pop_back();
      for (int reader : readers[v]) {
        result.push_back(reader);
        const OpSchema& schema = *g.node(reader).schema;
        if (schema.kernel_sets_outputs() && schema.written_inputs().empty()) {
          frontier.push_back(reader);
        }
      }
    }
    return result;
  };
  for (int writer = 0; writer < n; ++writer) {
    if (!request.runs[writer]) continue;
    for (int i : g.node(writer).schema->written_inputs()) {
      int variable = g.node(writer).inputs[i].node;
      for (int reader : readers_of(variable)) {
        if (reader == writer) continue;
        bool also_writes = false;
        for (int j : g.node(reader).schema->written_inputs()) {
          also_writes |= g.node(reader).inputs[j].node == variable;
        }
        if (!also_writes) dependencies.AddEdge(reader, writer);
      }
    }
  }
  TopologicalOrder order = SortTopologically(dependencies);
  if (!order.complete()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot order node '", g.node(order.first_unordered).name,
        "': it reads a variable that a node it depends on updates in place"));
  }
  return std::move(order.nodes);
}

int ValueTable::AddSlot(const TensorSpec& spec, const Layout& layout,
                        int last) {
  specs.push_back(spec);
  layouts.push_back(layout);
  used.push_back(true);
  last_use.push_back(last);
  return num_slots() - 1;
}

ValueTable AnalyzeLiveness(const Graph& graph, const PrunedRequest& request,
                           const NodeSpecs& specs,
                           absl::Span<const int> order) {
  const Graph& g = graph;
  ValueTable values;
  values.num_feeds = static_cast<int>(request.feeds.size());
  for (const FeedSpec& feed : request.feeds) {
    values.specs.push_back(TensorSpec{g.spec(feed.value).dtype, feed.shape});
  }
  values.feed_slot = request.feed_index;
  values.first_slot.assign(g.num_nodes(), -1);
  for (int id : order) {
    values.first_slot[id] = values.num_slots();
    for (const TensorSpec& spec : specs[id]) values.specs.push_back(spec);
  }
  for (const TensorSpec& spec : values.specs) {
    values.layouts.push_back(PlainLayout(spec.shape, spec.dtype));
  }
  values.used.assign(values.num_slots(), false);
  values.last_use.assign(values.num_slots(), -1);
  for (int pos = 0; pos < static_cast<int>(order.size()); ++pos) {
    for (NodeOutput in : g.node(order[pos]).inputs) {
      values.used[values.Slot(in)] = true;
      values.last_use[values.Slot(in)] = pos;
    }
  }
  for (NodeOutput f : request.fetches) {
    values.used[values.Slot(f)] = true;
    values.last_use[values.Slot(f)] = kLiveToEnd;
    values.fetch_slots.push_back(values.Slot(f));
  }
  // Walking backwards, so that a chain of views keeps its root alive.
  values.outputs_last_use.assign(g.num_nodes(), -1);
  for (int pos = static_cast<int>(order.size()) - 1; pos >= 0; --pos) {
    const int id = order[pos];
    const Node& node = g.node(id);
    int out_last = -1;
    for (int k = 0; k < static_cast<int>(specs[id].size()); ++k) {
      out_last = std::max(out_last, values.last_use[values.first_slot[id] + k]);
    }
    values.outputs_last_use[id] = out_last;
    if (!node.schema->kernel_sets_outputs()) continue;
    for (NodeOutput in : node.inputs) {
      int& last = values.last_use[values.Slot(in)];
      last = std::max(last, out_last);
    }
  }
  return values;
}

namespace {

// Adds a slot for `from` converted to `layout` and the reorder step that
// fills it.
absl::Status AddReorder(const Graph& graph, int node, int position, int from,
                        const Layout& layout, int last, KernelPlan* plan,
                        int* slot) {
  ValueTable& values = plan->values;
  PlannedStep step;
  step.node = node;
  step.position = position;
  const Layout source = values.layouts[from];
  absl::Status made = CallDnnl("preparing a layout reorder", [&] {
    step.kernel = std::make_unique<ReorderKernel>(source, layout);
  });
  if (!made.ok()) {
    const Node& n = graph.node(node);
    return Annotate(made, absl::StrCat(n.op(), " node '", n.name, "'"));
  }
  *slot = values.AddSlot(values.specs[from], layout, last);
  step.inputs = {from};
  step.outputs = {*slot};
  plan->steps.push_back(std::move(step));
  ++plan->num_reorders;
  return absl::OkStatus();
}

}  // namespace

RunMode ResolveMode(const Graph& graph, const PrunedRequest& request,
                    RunMode mode) {
  if (mode != RunMode::kAuto) return mode;
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (!request.runs[id]) continue;
    const OpSchema& schema = *graph.node(id).schema;
    if (schema.is_gradient_op()) return RunMode::kTraining;
    if (!schema.written_inputs().empty() && !schema.depends_on_mode()) {
      return RunMode::kTraining;
    }
  }
  return RunMode::kInference;
}

absl::StatusOr<KernelPlan> ChooseKernels(
    const Graph& graph, const PrunedRequest& request, const NodeSpecs& specs,
    absl::Span<const int> order, ValueTable values, VariableStore* variables,
    bool training) {
  KernelPlan plan;
  plan.values = std::move(values);
  plan.num_positions = static_cast<int>(order.size());
  ValueTable& v = plan.values;
  for (int pos = 0; pos < plan.num_positions; ++pos) {
    const int id = order[pos];
    const Node& node = graph.node(id);
    std::vector<TensorSpec> inputs;
    std::vector<Layout> input_layouts;
    for (NodeOutput in : node.inputs) {
      inputs.push_back(InputSpec(graph, request, specs, in));
      input_layouts.push_back(v.layouts[v.Slot(in)]);
    }
    std::vector<bool> output_used;
    for (int k = 0; k < static_cast<int>(specs[id].size()); ++k) {
      output_used.push_back(v.used[v.first_slot[id] + k]);
    }
    KernelContext context(node.op(), node.name, &node.attrs, inputs, specs[id],
                          std::move(output_used), variables,
                          std::move(input_layouts), training);
    absl::StatusOr<std::unique_ptr<Kernel>> kernel;
    try {
      kernel = node.schema->kernel_factory()(context);
    } catch (const dnnl::error& e) {
      kernel = StatusFromDnnlError("preparing the kernel", e);
    } catch (const std::bad_alloc& e) {
      kernel = OutOfMemoryStatus("preparing the kernel", e);
    }
    if (!kernel.ok()) {
      return Annotate(kernel.status(),
                      DescribeNode(node.op(), node.name, inputs));
    }

    if (variables != nullptr && !node.schema->written_inputs().empty()) {
      std::vector<std::string> written;
      for (int i : node.schema->written_inputs()) {
        written.push_back(graph.node(node.inputs[i].node).name);
      }
      kernel = std::make_unique<VersionBumpingKernel>(
          *std::move(kernel), variables, std::move(written));
    }
    const bool sets_outputs = node.schema->kernel_sets_outputs();
    PlannedStep step;
    step.node = id;
    step.position = pos;
    step.kernel = *std::move(kernel);
    step.outputs_in_arena = !sets_outputs;
    for (int i = 0; i < static_cast<int>(node.inputs.size()); ++i) {
      int s = v.Slot(node.inputs[i]);
      if (!(context.requested_layout(i) == v.layouts[s])) {
        // Views of a reordered input live as long as the views do.
        int last = sets_outputs ? std::max(pos, v.outputs_last_use[id]) : pos;
        NABLA_RETURN_IF_ERROR(AddReorder(
            graph, id, pos, s, context.requested_layout(i), last, &plan, &s));
      }
      step.inputs.push_back(s);
    }
    for (int k = 0; k < static_cast<int>(specs[id].size()); ++k) {
      int o = v.first_slot[id] + k;
      step.outputs.push_back(o);
      v.layouts[o] = context.output_layout(k);
    }
    plan.steps.push_back(std::move(step));
  }
  // What the caller fetches comes back plain.
  for (int& s : v.fetch_slots) {
    const Layout plain = PlainLayout(v.specs[s].shape, v.specs[s].dtype);
    if (v.layouts[s] == plain) continue;
    int producer = plan.steps.empty() ? 0 : plan.steps.back().node;
    NABLA_RETURN_IF_ERROR(AddReorder(graph, producer, plan.num_positions, s,
                                     plain, kLiveToEnd, &plan, &s));
  }
  return plan;
}

size_t ValueBytes(const TensorSpec& spec, const Layout& layout) {
  return std::max<size_t>(spec.shape.NumElements() * DTypeSize(spec.dtype),
                          LayoutBytes(layout));
}

BufferAssignment AssignBuffers(const KernelPlan& plan) {
  const ValueTable& values = plan.values;
  BufferAssignment result;
  // Per position, the values whose buffers return to the pool after it.
  std::vector<std::vector<int>> release_at(plan.num_positions + 1);
  std::vector<int> buffer_of(values.num_slots(), -1);
  std::vector<int> free_buffers;
  auto allocate = [&](int s) {
    size_t bytes = ValueBytes(values.specs[s], values.layouts[s]);
    result.unshared_bytes += bytes;
    // The smallest free buffer that fits; the first of equals.
    int best = -1;
    for (int f = 0; f < static_cast<int>(free_buffers.size()); ++f) {
      size_t capacity = result.buffer_bytes[free_buffers[f]];
      if (capacity >= bytes &&
          (best < 0 || capacity < result.buffer_bytes[free_buffers[best]])) {
        best = f;
      }
    }
    int buffer;
    if (best >= 0) {
      buffer = free_buffers[best];
      free_buffers.erase(free_buffers.begin() + best);
    } else {
      buffer = static_cast<int>(result.buffer_bytes.size());
      result.buffer_bytes.push_back(bytes);
      result.arena_bytes += bytes;
    }
    buffer_of[s] = buffer;
    result.placements.push_back({s, buffer});
  };
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    const PlannedStep& step = plan.steps[i];
    for (int o : step.outputs) {
      if (step.outputs_in_arena) allocate(o);
      if (values.last_use[o] == kLiveToEnd) continue;
      int at = std::min(std::max(values.last_use[o], step.position),
                        plan.num_positions);
      release_at[at].push_back(o);
    }
    const bool last_of_position = i + 1 == plan.steps.size() ||
                                  plan.steps[i + 1].position != step.position;
    if (!last_of_position || step.position >= plan.num_positions) continue;
    for (int s : release_at[step.position]) {
      if (buffer_of[s] >= 0) {
        free_buffers.push_back(buffer_of[s]);
        buffer_of[s] = -1;
      }
    }
  }
  return result;
}

}  // namespace planner
}  // namespace nabla
