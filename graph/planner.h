// The planner: the passes Session::Compile runs to turn a request (values
// fed, values fetched, nodes that must run) into a plan's steps and buffers.
// Each pass is a function of what the earlier ones produced, so that each
// can be tested alone (tests/planner/):
//
//   NABLA_ASSIGN_OR_RETURN(PrunedRequest request,
//                          Prune(graph, feeds, fetches, targets));
//   NABLA_ASSIGN_OR_RETURN(NodeSpecs specs, InferShapes(graph, request));
//   NABLA_ASSIGN_OR_RETURN(std::vector<int> order, OrderNodes(graph, request));
//   ValueTable values = AnalyzeLiveness(graph, request, specs, order);
//   NABLA_ASSIGN_OR_RETURN(KernelPlan kernels, ChooseKernels(graph, request,
//       specs, order, std::move(values), variables));
//   BufferAssignment buffers = AssignBuffers(kernels);
//
// Prune finds the nodes the request needs, InferShapes resolves their shapes
// for the fed batch, OrderNodes orders them (an in-place variable update
// after every other reader of the variable or of a view of it),
// AnalyzeLiveness numbers the values and finds each one's last reader,
// ChooseKernels prepares a kernel per node and negotiates layouts, adding a
// reorder wherever a kernel wants an input in another layout than its
// producer wrote, and AssignBuffers shares buffers between values whose
// lifetimes do not overlap. The buffers themselves belong to the session
// (one arena for all its plans); the planner only sizes them.

#ifndef NABLA_GRAPH_PLANNER_H_
#define NABLA_GRAPH_PLANNER_H_

#include <cstddef>
#include <limits>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/layout.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/variables.h"

namespace nabla {

// FeedSpec: a value to be fed and the shape of the tensors that will be fed
// to it (its unknown dimensions resolved). Usually a placeholder; any other
// value but a variable can be fed too, and is then not computed, nor is
// anything only it needs.
struct FeedSpec {
  NodeOutput value;
  Shape shape;
};

// RunMode: how ops that behave differently in training and in inference
// (OpSchema::DependsOnMode: batch normalization, dropout) run in a plan.
// One graph serves both: a training step and an evaluation of the same
// graph are two plans of one session, each compiled in its mode.
enum class RunMode {
  // Training when the plan trains: it runs a gradient op
  // (OpSchema::IsGradientOp) or updates a variable in place through an op
  // that does not depend on the mode (an optimizer's update, the step
  // increment). Inference otherwise, so that evaluation, prediction and
  // export get inference behaviour without asking for it.
  kAuto,
  kInference,
  kTraining,
};

// CompileOptions are Session::Compile's optional settings.
struct CompileOptions {
  RunMode mode = RunMode::kAuto;
};

namespace planner {

// kLiveToEnd is the last use of a value that must outlive the plan's steps
// (a fetch).
inline constexpr int kLiveToEnd = std::numeric_limits<int>::max();

// PrunedRequest: a checked request and the nodes it needs.
struct PrunedRequest {
  std::vector<FeedSpec> feeds;
  std::vector<NodeOutput> fetches;
  // Index into `feeds` of each fed value.
  absl::flat_hash_map<NodeOutput, int> feed_index;
  // Per node id: the plan runs it. Placeholders never run (their values are
  // fed), nor do nodes that only fed values need.
  std::vector<bool> runs;

  bool IsFed(NodeOutput ref) const { return feed_index.contains(ref); }
};

// Prune checks every reference of the request against `graph` and finds
// the nodes that fetches and targets depend on, stopping at fed values.
// InvalidArgument for a reference to a value the graph lacks, a variable
// fed, a value fed twice or with a shape its declaration does not admit, a
// value fed while its node must run for another output, or a placeholder
// needed but not fed.
absl::StatusOr<PrunedRequest> Prune(const Graph& graph,
                                    absl::Span<const FeedSpec> feeds,
                                    absl::Span<const NodeOutput> fetches,
                                    absl::Span<const NodeOutput> targets);

// NodeSpecs: per node id, the specs of its outputs with the fed sizes in
// place of unknown dimensions; empty for nodes that do not run.
using NodeSpecs = std::vector<std::vector<TensorSpec>>;

// InferShapes re-runs the shape function of every node the plan runs, in id
// order (the graph's own topological order), with the fed shapes. The
// error of a node names it and its inputs.
absl::StatusOr<NodeSpecs> InferShapes(const Graph& graph,
                                      const PrunedRequest& request);

// ResolveMode turns kAuto into kTraining or kInference for the nodes
// `request` runs (see RunMode); other modes are returned as they are.
RunMode ResolveMode(const Graph& graph, const PrunedRequest& request,
                    RunMode mode);

// InputSpec is what a node of the plan reads at `ref`: the fed spec or the
// producer's inferred one.
TensorSpec InputSpec(const Graph& graph, const PrunedRequest& request,
                     const NodeSpecs& specs, NodeOutput ref);

// OrderNodes orders the nodes the plan runs: topologically, and every node
// that updates a variable in place (OpSchema::WritesInput) after every other
// node that reads the variable or a view of it (a Reshape or Identity of the
// variable shares its buffer). Ties go to the lowest node id.
// InvalidArgument when no such order exists (a node reads a variable that a
// node it depends on updates).
absl::StatusOr<std::vector<int>> OrderNodes(const Graph& graph,
                                            const PrunedRequest& request);

// ValueTable: the plan's values ("slots"): the feeds first, then every
// output of every node run in order, then (added by ChooseKernels) the
// reorders between layouts. Positions are indices into the node order.
struct ValueTable {
  std::vector<TensorSpec> specs;
  std::vector<Layout> layouts;
  // Something in the plan reads the value, or it is fetched.
  std::vector<bool> used;
  // The position of the value's last reader, or kLiveToEnd; -1 if none.
  std::vector<int> last_use;
  int num_feeds = 0;
  // Per node id: the slot of its output 0, or -1 if it does not run.
  std::vector<int> first_slot;
  // Per node id: the last use of any of its outputs.
  std::vector<int> outputs_last_use;
  // Per fetch: its slot.
  std::vector<int> fetch_slots;
  // Per fed value: its slot (the feed's index).
  absl::flat_hash_map<NodeOutput, int> feed_slot;

  int num_slots() const { return static_cast<int>(specs.size()); }
  int Slot(NodeOutput ref) const {
    auto it = feed_slot.find(ref);
    return it != feed_slot.end() ? it->second
                                 : first_slot[ref.node] + ref.index;
  }
  // Adds a slot; returns its number.
  int AddSlot(const TensorSpec& spec, const Layout& layout, int last);
};

// AnalyzeLiveness numbers the values of the nodes in `order` (all plain to
// begin with) and finds each value's last reader. The inputs of a node that
// sets its own outputs (OpSchema::SetKernelSetsOutputs) may be viewed by
// them (Reshape), so they live as long as its outputs do.
ValueTable AnalyzeLiveness(const Graph& graph, const PrunedRequest& request,
                           const NodeSpecs& specs, absl::Span<const int> order);

// PlannedStep: one kernel run of a plan.
struct PlannedStep {
  int node = -1;     // the node it runs for (a reorder: the node it feeds)
  int position = 0;  // the node's position; past the last for fetch reorders
  std::unique_ptr<Kernel> kernel;
  std::vector<int> inputs;   // slots
  std::vector<int> outputs;  // slots
  // The executor gives its outputs buffers from the arena (false for a
  // kernel that sets its outputs itself).
  bool outputs_in_arena = true;
};

// KernelPlan: the steps of a plan and its values with their final layouts.
struct KernelPlan {
  ValueTable values;
  std::vector<PlannedStep> steps;
  int num_positions = 0;
  int num_reorders = 0;
};

// ChooseKernels asks each node's kernel factory, in order, for a kernel
// (in training mode if `training`),
// telling it the layouts its inputs arrive in and learning the layouts it
// wants them in and writes its outputs in; it adds a reorder step wherever
// the two disagree, and after the last step for every fetch that is not
// plain. A factory's error (or oneDNN's, or running out of memory) is
// annotated with the node.
absl::StatusOr<KernelPlan> ChooseKernels(
    const Graph& graph, const PrunedRequest& request, const NodeSpecs& specs,
    absl::Span<const int> order, ValueTable values, VariableStore* variables,
    bool training = false);

// ValueBytes is the bytes a value of `spec` needs in `layout` (blocked
// layouts may pad).
size_t ValueBytes(const TensorSpec& spec, const Layout& layout);

// BufferAssignment: the arena buffers a plan needs and which value lives in
// which.
struct BufferAssignment {
  struct Placement {
    int slot;
    int buffer;
  };
  std::vector<size_t> buffer_bytes;
  std::vector<Placement> placements;
  // The sum of buffer_bytes, and what one buffer per value would need.
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;
};

// AssignBuffers walks the steps in order: each output the executor
// allocates takes the smallest free buffer that fits (or a new one), and a
// value's buffer is freed after the last step of its last reader's
// position. Fed values and outputs kernels set themselves take no buffer.
BufferAssignment AssignBuffers(const KernelPlan& plan);

}  // namespace planner
}  // namespace nabla

#endif  // NABLA_GRAPH_PLANNER_H_
