// TopologicalOrder: the one topological sort of nabla's graphs, shared by the
// GraphDef loader (which orders a file's nodes) and the planner (which orders
// a plan's steps, in-place variable writers after their readers).
//
//   DependencyGraph deps(3);
//   deps.AddEdge(2, 0);  // node 0 runs after node 2
//   TopologicalOrder order = SortTopologically(deps);
//   // order.nodes == {1, 2, 0}; order.complete()
//
// Ready nodes are taken lowest id first (Kahn's algorithm with a min-heap),
// so a graph already in order keeps it, and the result is deterministic.

#ifndef NABLA_GRAPH_TOPO_ORDER_H_
#define NABLA_GRAPH_TOPO_ORDER_H_

#include <vector>

namespace nabla {

// DependencyGraph: nodes 0..n-1, a subset of which is to be ordered, and
// "runs before" edges between them.
class DependencyGraph {
 public:
  // All `num_nodes` nodes are included until Exclude() says otherwise.
  explicit DependencyGraph(int num_nodes)
      : successors_(num_nodes), included_(num_nodes, true) {}

  int num_nodes() const { return static_cast<int>(successors_.size()); }

  // Exclude leaves `node` out of the order; it must have no edges.
  void Exclude(int node) { included_[node] = false; }
  bool included(int node) const { return included_[node]; }

  // AddEdge makes `to` wait for `from`. An edge may be added twice (a node
  // reading two outputs of another); it then counts twice, harmlessly.
  void AddEdge(int from, int to) { successors_[from].push_back(to); }

  const std::vector<int>& successors(int node) const {
    return successors_[node];
  }

 private:
  std::vector<std::vector<int>> successors_;
  std::vector<bool> included_;
};

// TopologicalOrder is the result of SortTopologically.
struct TopologicalOrder {
  // The included nodes that could be ordered, in order.
  std::vector<int> nodes;
  // When some included node could not be ordered (it lies on a cycle, or
  // waits for one), the lowest such id; -1 when every node was ordered.
  int first_unordered = -1;

  bool complete() const { return first_unordered < 0; }
};

// SortTopologically orders the included nodes of `graph` so that every edge
// runs forward, taking ready nodes lowest id first.
TopologicalOrder SortTopologically(const DependencyGraph& graph);

}  // namespace nabla

#endif  // NABLA_GRAPH_TOPO_ORDER_H_
