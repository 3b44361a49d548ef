// Session and Plan: running graphs.
//
// A Session owns a graph and the values of its variables. Compile() turns a
// request (which values are fed, which are fetched, which nodes must run)
// into a Plan: the needed nodes in an order that respects in-place variable
// updates, shapes resolved for the fed batch, kernels prepared and buffers
// assigned by liveness (the passes of graph/planner.h). Plan::Run then does
// no allocation and no primitive creation; it can run any number of times.
//
//   NABLA_ASSIGN_OR_RETURN(auto session, Session::Create(graph));
//   NABLA_ASSIGN_OR_RETURN(Plan* step, session->Compile(
//       {{images, Shape({128, 1, 28, 28})}, {labels, Shape({128})}},
//       /*fetches=*/{loss}, /*targets=*/{train}));
//   std::vector<Tensor> out;
//   NABLA_RETURN_IF_ERROR(step->Run({batch_images, batch_labels}, &out));
//
// Session::Run does the same in one call, compiling on first use and
// reusing the plan while the fed shapes stay the same.
//
// Nothing throws out of these entry points: running out of memory (a
// std::bad_alloc, e.g. core's TensorAllocationError) becomes
// kResourceExhausted naming the entry point and, for tensors, how many
// bytes of what; a dnnl::error becomes the code core/dnnl_context.h maps it
// to. A failed Compile or Run leaves the session as it was: variables are
// updated only by a run that succeeds up to its last step.

#ifndef NABLA_GRAPH_SESSION_H_
#define NABLA_GRAPH_SESSION_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "graph/op_registry.h"
#include "graph/planner.h"
#include "graph/variables.h"

namespace nabla {

// PlanStats describes a compiled plan, for tests and benchmarks.
struct PlanStats {
  int num_steps = 0;
  // Bytes of the buffers the plan needs for intermediate values (shared
  // with the session's other plans), and what one buffer per value would
  // have needed.
  size_t arena_bytes = 0;
  size_t unshared_bytes = 0;
  // Layout conversions the executor inserted between kernels.
  int num_reorders = 0;
  // The plan was compiled in training mode (RunMode, graph/planner.h).
  bool training = false;
};

class Session;

class Plan {
 public:
  // Runs the plan. `feeds` are given in the order of the FeedSpecs it was
  // compiled with, each of exactly the compiled shape and the placeholder's
  // dtype. `fetches` receives one tensor per compiled fetch; tensors already
  // there are overwritten in place when dtype and shape match, so a caller
  // that passes the same vector every step allocates nothing. Fed tensors
  // are read, never written. Fetch buffers are allocated before any step
  // runs, so running out of memory for them changes no variable.
  absl::Status Run(absl::Span<const Tensor> feeds,
                   std::vector<Tensor>* fetches);

  const PlanStats& stats() const { return stats_; }

 private:
  friend class Session;
  // Where value `slot` lives in the session's arena.
  struct ArenaView {
    int slot;
    int buffer;
    TensorSpec spec;
  };
  absl::Status RunUnguarded(absl::Span<const Tensor> feeds,
                            std::vector<Tensor>* fetches);
  // Points the values at the session's current arena buffers.
  void BindArena();
  // Gives every fetch a buffer of its compiled dtype and shape that no
  // value of the plan shares.
  void PrepareFetches(std::vector<Tensor>* fetches) const;

  const Graph* graph_ = nullptr;
  Session* session_ = nullptr;
  std::vector<ArenaView> arena_views_;
  int64_t bound_generation_ = -1;
  std::vector<planner::PlannedStep> steps_;
  std::vector<Tensor> values_;
  std::vector<int> feed_slots_;
  std::vector<TensorSpec> feed_specs_;
  std::vector<int> fetch_slots_;
  std::vector<TensorSpec> fetch_specs_;
  PlanStats stats_;
};

// A Session and its plans are not thread-safe: run one plan at a time.
class Session {
 public:
  // Creates a session over `graph` and gives every Variable its initial
  // value.
  static absl::StatusOr<std::unique_ptr<Session>> Create(Graph graph);

  // Compiles a plan; the session owns it and keeps it as long as the
  // session lives. Every placeholder the fetches and targets depend on must
  // be fed; feeding a node's output while another of its outputs is needed
  // is an error. `options.mode` decides how batch normalization and dropout
  // behave; by default a plan that trains (computes gradients or updates
  // variables) runs them as in training, any other as in inference.
  absl::StatusOr<Plan*> Compile(absl::Span<const FeedSpec> feeds,
                                absl::Span<const NodeOutput> fetches,
                                absl::Span<const NodeOutput> targets = {},
                                CompileOptions options = {});

  // Runs the graph once: compiles (or reuses) a plan for these feeds' shapes
  // and returns fresh copies of the fetched values.
  absl::StatusOr<std::vector<Tensor>> Run(
      absl::Span<const std::pair<NodeOutput, Tensor>> feeds,
      absl::Span<const NodeOutput> fetches,
      absl::Span<const NodeOutput> targets = {});

  const Graph& graph() const { return graph_; }
  VariableStore& variables() { return variables_; }
  const VariableStore& variables() const { return variables_; }

 private:
  friend class Plan;
  explicit Session(Graph graph) : graph_(std::move(graph)) {}
  // The entry points' bodies, which may throw; the entry points catch.
  static absl::StatusOr<std::unique_ptr<Session>> CreateUnguarded(Graph graph);
  absl::StatusOr<Plan*> CompileUnguarded(absl::Span<const FeedSpec> feeds,
                                         absl::Span<const NodeOutput> fetches,
                                         absl::Span<const NodeOutput> targets,
                                         CompileOptions options);
  absl::StatusOr<std::vector<Tensor>> RunUnguarded(
      absl::Span<const std::pair<NodeOutput, Tensor>> feeds,
      absl::Span<const NodeOutput> fetches,
      absl::Span<const NodeOutput> targets);
  // Grows the arena's buffers to at least these sizes.
  void GrowArena(absl::Span<const size_t> buffer_bytes);

  Graph graph_;
  VariableStore variables_;
  std::vector<std::unique_ptr<Plan>> plans_;
  // Buffers for intermediate values, shared by every plan of the session:
  // plans never run at once, so a session needs the largest plan's memory,
  // not the sum. Growing a buffer bumps the generation.
  std::vector<Tensor> arena_;
  int64_t arena_generation_ = 0;
  absl::flat_hash_map<std::string, Plan*> plan_cache_;
};

}  // namespace nabla

#endif  // NABLA_GRAPH_SESSION_H_
