#include "graph/session.h"

#include <algorithm>
#include <limits>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "graph/initializers.h"

namespace nabla {
namespace {

// Converts a value between two layouts; the executor adds one wherever a
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

std::unique_ptr<Kernel> MakeReorderKernel(const Layout& from, const Layout& to) {
  return std::make_unique<ReorderKernel>(from, to);
}

constexpr int kLiveToEnd = std::numeric_limits<int>::max();

std::string RefName(const Graph& graph, NodeOutput ref) {
  return graph.OutputName(ref);
}

absl::Status CheckRef(const Graph& graph, NodeOutput ref,
                      absl::string_view what) {
  if (ref.node < 0 || ref.node >= graph.num_nodes() || ref.index < 0 ||
      ref.index >= static_cast<int>(graph.node(ref.node).outputs.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " refers to output ", ref.index, " of node ", ref.node,
        ", which this session's graph does not have"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Session>> Session::Create(Graph graph) {
  // Before anything is allocated: a graph's variables must fit its budget.
  NABLA_RETURN_IF_ERROR(CheckVariableBytes(graph));
  auto session = absl::WrapUnique(new Session(std::move(graph)));
  for (const Node& node : session->graph_.nodes()) {
    if (node.op() != "Variable") continue;
    absl::StatusOr<Tensor> value =
        MakeInitialValue(AttrReader(&node.attrs), node.outputs[0].shape,
                         node.outputs[0].dtype);
    if (!value.ok()) {
      return Annotate(value.status(),
                      absl::StrCat("Variable node '", node.name, "'"));
    }
    NABLA_RETURN_IF_ERROR(session->variables_.Add(node.name, *std::move(value)));
  }
  return session;
}

absl::StatusOr<Plan*> Session::Compile(absl::Span<const FeedSpec> feeds,
                                       absl::Span<const NodeOutput> fetches,
                                       absl::Span<const NodeOutput> targets) {
  const Graph& g = graph_;
  const int n = g.num_nodes();
  // Fed values, by reference: a fed value is never computed, so whatever
  // only it needs is pruned (this is how benchmarks time backward ops
  // alone, feeding the forward outputs).
  absl::flat_hash_map<NodeOutput, int> feed_index;
  for (int i = 0; i < static_cast<int>(feeds.size()); ++i) {
    const FeedSpec& feed = feeds[i];
    NABLA_RETURN_IF_ERROR(CheckRef(g, feed.value, "a feed"));
    if (g.node(feed.value.node).op() == "Variable") {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", RefName(g, feed.value),
          "' cannot be fed; assign it through Session::variables()"));
    }
    const TensorSpec& declared = g.spec(feed.value);
    if (!feed.shape.IsFullyDefined() ||
        !feed.shape.IsCompatibleWith(declared.shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          g.node(feed.value.node).op() == "Placeholder" ? "placeholder '"
                                                        : "value '",
          RefName(g, feed.value), "' is ", declared.ToString(),
          "; cannot feed shape ", feed.shape.ToString()));
    }
    if (!feed_index.emplace(feed.value, i).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", RefName(g, feed.value), "' is fed twice"));
    }
  }
  auto is_fed = [&](NodeOutput ref) { return feed_index.contains(ref); };
  for (NodeOutput f : fetches) NABLA_RETURN_IF_ERROR(CheckRef(g, f, "a fetch"));
  for (NodeOutput t : targets) {
    NABLA_RETURN_IF_ERROR(CheckRef(g, t, "a target"));
  }

  // The nodes the request needs: everything fetches and targets depend on,
  // stopping at fed values.
  std::vector<bool> needed(n, false);
  std::vector<int> stack;
  for (NodeOutput f : fetches) {
    if (!is_fed(f)) stack.push_back(f.node);
  }
  for (NodeOutput t : targets) stack.push_back(t.node);
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[id]) continue;
    needed[id] = true;
    for (NodeOutput in : g.node(id).inputs) {
      if (!is_fed(in)) stack.push_back(in.node);
    }
  }
  for (const FeedSpec& feed : feeds) {
    if (needed[feed.value.node] &&
        g.node(feed.value.node).op() != "Placeholder") {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot feed '", RefName(g, feed.value), "': node '",
          g.node(feed.value.node).name,
          "' must run anyway for another of its outputs"));
    }
  }

  // Shapes with the fed sizes in place of unknown dimensions.
  auto fed_spec = [&](NodeOutput ref) {
    return TensorSpec{g.spec(ref).dtype, feeds[feed_index.at(ref)].shape};
  };
  std::vector<std::vector<TensorSpec>> specs(n);
  auto input_spec = [&](NodeOutput in) {
    return is_fed(in) ? fed_spec(in) : specs[in.node][in.index];
  };
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    const Node& node = g.node(id);
    if (node.op() == "Placeholder") {
      if (!is_fed(NodeOutput{id, 0})) {
        return absl::InvalidArgumentError(absl::StrCat(
            "placeholder '", node.name, "' ", node.outputs[0].ToString(),
            " must be fed to compute what was asked for"));
      }
      needed[id] = false;  // its value comes from the feed
      continue;
    }
    std::vector<TensorSpec> inputs;
    for (NodeOutput in : node.inputs) inputs.push_back(input_spec(in));
    absl::StatusOr<std::vector<TensorSpec>> outputs = InferOutputs(
        *node.schema, node.name, node.attrs, inputs, g.options().max_elements);
    if (!outputs.ok()) {
      return Annotate(outputs.status(),
                      DescribeNode(node.op(), node.name, inputs));
    }
    specs[id] = *std::move(outputs);
  }

  // Order: topological, and every in-place update of a variable after all
  // the other nodes that read it.
  std::vector<std::vector<int>> successors(n);
  std::vector<int> pending(n, 0);
  auto add_edge = [&](int from, int to) {
    successors[from].push_back(to);
    ++pending[to];
  };
  std::vector<std::vector<int>> readers(n);
  for (int id = 0; id < n; ++id) {
    if (!needed[id]) continue;
    for (NodeOutput in : g.node(id).inputs) {
      if (is_fed(in)) continue;
      add_edge(in.node, id);
      readers[in.node].push_back(id);
    }
  }
  // Who reads a variable: its consumers, and the consumers of views of it
  // (a Reshape or Identity of the variable shares its buffer).
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
    if (!needed[writer]) continue;
    for (int i : g.node(writer).schema->written_inputs()) {
      int variable = g.node(writer).inputs[i].node;
      for (int reader : readers_of(variable)) {
        if (reader == writer) continue;
        bool also_writes = false;
        for (int j : g.node(reader).schema->written_inputs()) {
          also_writes |= g.node(reader).inputs[j].node == variable;
        }
        if (!also_writes) add_edge(reader, writer);
      }
    }
  }
  std::vector<int> order;
  std::vector<int> ready;
  auto later = [](int a, int b) { return a > b; };
  for (int id = 0; id < n; ++id) {
    if (needed[id] && pending[id] == 0) ready.push_back(id);
  }
  std::make_heap(ready.begin(), ready.end(), later);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), later);
    int id = ready.back();
    ready.pop_back();
    order.push_back(id);
    for (int s : successors[id]) {
      if (--pending[s] == 0) {
        ready.push_back(s);
        std::push_heap(ready.begin(), ready.end(), later);
      }
    }
  }
  int num_needed = std::count(needed.begin(), needed.end(), true);
  if (static_cast<int>(order.size()) != num_needed) {
    for (int id = 0; id < n; ++id) {
      if (needed[id] && pending[id] > 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot order node '", g.node(id).name,
            "': it reads a variable that a node it depends on updates in "
            "place"));
      }
    }
  }

  // Value slots: the feeds first, then every output of every node run, then
  // the reorders the executor adds between layouts.
  auto plan = absl::WrapUnique(new Plan());
  plan->graph_ = &graph_;
  std::vector<TensorSpec> slot_spec;
  for (const FeedSpec& feed : feeds) {
    slot_spec.push_back(TensorSpec{g.spec(feed.value).dtype, feed.shape});
  }
  std::vector<int> slot_base(n, -1);
  for (int id : order) {
    slot_base[id] = static_cast<int>(slot_spec.size());
    for (const TensorSpec& spec : specs[id]) slot_spec.push_back(spec);
  }
  const int num_slots = static_cast<int>(slot_spec.size());
  auto slot = [&](NodeOutput ref) {
    auto it = feed_index.find(ref);
    return it != feed_index.end() ? it->second : slot_base[ref.node] + ref.index;
  };
  std::vector<Layout> slot_layout;
  for (const TensorSpec& spec : slot_spec) {
    slot_layout.push_back(PlainLayout(spec.shape, spec.dtype));
  }
  plan->values_.resize(num_slots);
  for (int i = 0; i < static_cast<int>(feeds.size()); ++i) {
    plan->feed_slots_.push_back(i);
    plan->feed_specs_.push_back(slot_spec[i]);
  }

  std::vector<bool> used(num_slots, false);
  std::vector<int> last_use(num_slots, -1);
  for (int pos = 0; pos < static_cast<int>(order.size()); ++pos) {
    for (NodeOutput in : g.node(order[pos]).inputs) {
      used[slot(in)] = true;
      last_use[slot(in)] = pos;
    }
  }
  for (NodeOutput f : fetches) {
    used[slot(f)] = true;
    last_use[slot(f)] = kLiveToEnd;
    plan->fetch_slots_.push_back(slot(f));
  }
  // A node that sets its own outputs may return views of its inputs
  // (Reshape), so its inputs live as long as its outputs.
  std::vector<int> outputs_last_use(n, -1);
  for (int pos = static_cast<int>(order.size()) - 1; pos >= 0; --pos) {
    const Node& node = g.node(order[pos]);
    int out_last = -1;
    for (int k = 0; k < static_cast<int>(specs[order[pos]].size()); ++k) {
      out_last = std::max(out_last, last_use[slot_base[order[pos]] + k]);
    }
    outputs_last_use[order[pos]] = out_last;
    if (!node.schema->kernel_sets_outputs()) continue;
    for (NodeOutput in : node.inputs) {
      last_use[slot(in)] = std::max(last_use[slot(in)], out_last);
    }
  }

  // Buffers by liveness: a value's buffer returns to the pool after its last
  // reader, and later values take the smallest pooled buffer that fits.
  const int num_positions = static_cast<int>(order.size());
  std::vector<std::vector<int>> release_at(num_positions + 1);
  auto schedule_release = [&](int s, int created_at) {
    if (last_use[s] == kLiveToEnd) return;
    release_at[std::min(std::max(last_use[s], created_at), num_positions)]
        .push_back(s);
  };
  // Buffer sizes this plan needs; the buffers themselves are the session's
  // (see Session::arena_), shared by all its plans.
  std::vector<size_t> buffer_bytes;
  std::vector<int> buffer_of(num_slots, -1);
  std::vector<int> free_buffers;
  auto allocate = [&](int s) {
    const TensorSpec& spec = slot_spec[s];
    size_t bytes = std::max<size_t>(spec.shape.NumElements() * DTypeSize(spec.dtype),
                                    LayoutBytes(slot_layout[s]));
    plan->stats_.unshared_bytes += bytes;
    int best = -1;
    for (int f = 0; f < static_cast<int>(free_buffers.size()); ++f) {
      size_t capacity = buffer_bytes[free_buffers[f]];
      if (capacity >= bytes &&
          (best < 0 || capacity < buffer_bytes[free_buffers[best]])) {
        best = f;
      }
    }
    int buffer;
    if (best >= 0) {
      buffer = free_buffers[best];
      free_buffers.erase(free_buffers.begin() + best);
    } else {
      buffer = static_cast<int>(buffer_bytes.size());
      buffer_bytes.push_back(bytes);
      plan->stats_.arena_bytes += bytes;
    }
    buffer_of[s] = buffer;
    plan->arena_views_.push_back(Plan::ArenaView{s, buffer, spec});
  };
  auto release = [&](int s) {
    if (buffer_of[s] >= 0) {
      free_buffers.push_back(buffer_of[s]);
      buffer_of[s] = -1;
    }
  };
  // A slot for `s` converted to `layout`, filled by a reorder step that
  // runs for node `node`.
  auto add_reorder = [&](int node, int s, const Layout& layout, int last) {
    int r = static_cast<int>(slot_spec.size());
    slot_spec.push_back(slot_spec[s]);
    slot_layout.push_back(layout);
    plan->values_.emplace_back();
    buffer_of.push_back(-1);
    used.push_back(true);
    last_use.push_back(last);
    allocate(r);
    Plan::Step step;
    step.node = node;
    step.kernel = MakeReorderKernel(slot_layout[s], layout);
    step.inputs = {s};
    step.outputs = {r};
    plan->steps_.push_back(std::move(step));
    ++plan->stats_.num_reorders;
    return r;
  };
  for (int i = 0; i < static_cast<int>(feeds.size()); ++i) schedule_release(i, 0);

  for (int pos = 0; pos < num_positions; ++pos) {
    int id = order[pos];
    const Node& node = g.node(id);
    std::vector<TensorSpec> inputs;
    std::vector<Layout> input_layouts;
    for (NodeOutput in : node.inputs) {
      inputs.push_back(input_spec(in));
      input_layouts.push_back(slot_layout[slot(in)]);
    }
    std::vector<bool> output_used;
    for (int k = 0; k < static_cast<int>(specs[id].size()); ++k) {
      output_used.push_back(used[slot_base[id] + k]);
    }
    KernelContext context(node.op(), node.name, &node.attrs, inputs, specs[id],
                          std::move(output_used), &variables_,
                          std::move(input_layouts));
    absl::StatusOr<std::unique_ptr<Kernel>> kernel;
    try {
      kernel = node.schema->kernel_factory()(context);
    } catch (const dnnl::error& e) {
      kernel = StatusFromDnnlError("preparing the kernel", e);
    }
    if (!kernel.ok()) {
      return Annotate(kernel.status(),
                      DescribeNode(node.op(), node.name, inputs));
    }

    Plan::Step step;
    step.node = id;
    step.kernel = *std::move(kernel);
    for (int i = 0; i < static_cast<int>(node.inputs.size()); ++i) {
      int s = slot(node.inputs[i]);
      if (!(context.requested_layout(i) == slot_layout[s])) {
        // Views of a reordered input live as long as the views do.
        int last = node.schema->kernel_sets_outputs()
                       ? std::max(pos, outputs_last_use[id])
                       : pos;
        s = add_reorder(id, s, context.requested_layout(i), last);
        schedule_release(s, pos);
      }
      step.inputs.push_back(s);
    }
    for (int k = 0; k < static_cast<int>(specs[id].size()); ++k) {
      int o = slot_base[id] + k;
      step.outputs.push_back(o);
      slot_layout[o] = context.output_layout(k);
      if (!node.schema->kernel_sets_outputs()) allocate(o);
      schedule_release(o, pos);
    }
    plan->steps_.push_back(std::move(step));
    for (int s : release_at[pos]) release(s);
  }
  // What the caller fetches comes back plain.
  for (int& s : plan->fetch_slots_) {
    const TensorSpec& spec = slot_spec[s];
    if (!(slot_layout[s] == PlainLayout(spec.shape, spec.dtype))) {
      int producer = plan->steps_.empty() ? 0 : plan->steps_.back().node;
      s = add_reorder(producer, s, PlainLayout(spec.shape, spec.dtype),
                      kLiveToEnd);
    }
  }
  // Grow the session's arena to what this plan needs; plans compiled
  // earlier re-point their values at the grown buffers on their next run.
  for (size_t b = 0; b < buffer_bytes.size(); ++b) {
    if (b == arena_.size()) arena_.emplace_back();
    if (arena_[b].empty() || arena_[b].capacity() < buffer_bytes[b]) {
      arena_[b] = Tensor(DType::kU8, Shape({static_cast<int64_t>(buffer_bytes[b])}));
      ++arena_generation_;
    }
  }
  plan->session_ = this;
  plan->stats_.num_steps = static_cast<int>(plan->steps_.size());
  plans_.push_back(std::move(plan));
  return plans_.back().get();
}

void Plan::BindArena() {
  for (const ArenaView& view : arena_views_) {
    values_[view.slot] =
        session_->arena_[view.buffer].ViewAs(view.spec.dtype, view.spec.shape);
  }
  bound_generation_ = session_->arena_generation_;
}

absl::Status Plan::Run(absl::Span<const Tensor> feeds,
                       std::vector<Tensor>* fetches) {
  if (bound_generation_ != session_->arena_generation_) BindArena();
  if (feeds.size() != feed_slots_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plan takes ", feed_slots_.size(), " feeds, got ",
                     feeds.size()));
  }
  for (size_t i = 0; i < feeds.size(); ++i) {
    const TensorSpec& expected = feed_specs_[i];
    if (feeds[i].dtype() != expected.dtype ||
        feeds[i].shape() != expected.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed ", i, " is ", feeds[i].DebugString(), " but the plan was "
          "compiled for ", expected.ToString()));
    }
    values_[feed_slots_[i]] = feeds[i];
  }
  for (Step& step : steps_) {
    absl::Status status;
    try {
      status = step.kernel->Compute(
          KernelArgs(values_.data(), step.inputs.data(), step.outputs.data()));
    } catch (const dnnl::error& e) {
      status = StatusFromDnnlError("running", e);
    }
    if (!status.ok()) {
      const Node& node = graph_->node(step.node);
      return Annotate(status, absl::StrCat(node.op(), " node '", node.name,
                                           "'"));
    }
  }
  if (fetches == nullptr) return absl::OkStatus();
  fetches->resize(fetch_slots_.size());
  for (size_t i = 0; i < fetch_slots_.size(); ++i) {
    const Tensor& value = values_[fetch_slots_[i]];
    Tensor& out = (*fetches)[i];
    if (!out.empty() && out.dtype() == value.dtype() &&
        out.shape() == value.shape() && !out.SharesBufferWith(value)) {
      NABLA_RETURN_IF_ERROR(out.CopyFrom(value));
    } else {
      out = value.Clone();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Tensor>> Session::Run(
    absl::Span<const std::pair<NodeOutput, Tensor>> feeds,
    absl::Span<const NodeOutput> fetches, absl::Span<const NodeOutput> targets) {
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
