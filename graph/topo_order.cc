#include "graph/topo_order.h"

#include <algorithm>
#include <functional>

namespace nabla {

TopologicalOrder SortTopologically(const DependencyGraph& graph) {
  const int n = graph.num_nodes();
  std::vector<int> pending(n, 0);
  int num_included = 0;
  for (int id = 0; id < n; ++id) {
    if (!graph.included(id)) continue;
    ++num_included;
    for (int s : graph.successors(id)) ++pending[s];
  }
  TopologicalOrder result;
  result.nodes.reserve(num_included);
  // A min-heap of ready ids.
  std::vector<int> ready;
  for (int id = 0; id < n; ++id) {
    if (graph.included(id) && pending[id] == 0) ready.push_back(id);
  }
  const std::greater<int> later;
  std::make_heap(ready.begin(), ready.end(), later);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), later);
    int id = ready.back();
    ready.pop_back();
    result.nodes.push_back(id);
    for (int s : graph.successors(id)) {
      if (--pending[s] == 0) {
        ready.push_back(s);
        std::push_heap(ready.begin(), ready.end(), later);
      }
    }
  }
  if (static_cast<int>(result.nodes.size()) != num_included) {
    for (int id = 0; id < n; ++id) {
      if (graph.included(id) && pending[id] > 0) {
        result.first_unordered = id;
        break;
      }
    }
  }
  return result;
}

}  // namespace nabla
