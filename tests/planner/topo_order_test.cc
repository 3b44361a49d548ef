// SortTopologically: lowest id first among ready nodes, excluded nodes left
// out, and the first node of a cycle named.

#include "graph/topo_order.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nabla {
namespace {

using ::testing::ElementsAre;

TEST(TopoOrderTest, KeepsAnOrderedGraphAsItIs) {
  DependencyGraph graph(4);
  graph.AddEdge(0, 1);
  graph.AddEdge(1, 2);
  graph.AddEdge(0, 3);
  TopologicalOrder order = SortTopologically(graph);
  EXPECT_TRUE(order.complete());
  EXPECT_THAT(order.nodes, ElementsAre(0, 1, 2, 3));
}

TEST(TopoOrderTest, TakesTheLowestReadyIdFirst) {
  // 3 must precede 0 and 1; 2 is free.
  DependencyGraph graph(4);
  graph.AddEdge(3, 0);
  graph.AddEdge(3, 1);
  graph.AddEdge(1, 0);
  TopologicalOrder order = SortTopologically(graph);
  EXPECT_TRUE(order.complete());
  EXPECT_THAT(order.nodes, ElementsAre(2, 3, 1, 0));
}

TEST(TopoOrderTest, DuplicateEdgesCountTwiceAndStillOrder) {
  DependencyGraph graph(2);
  graph.AddEdge(1, 0);
  graph.AddEdge(1, 0);
  TopologicalOrder order = SortTopologically(graph);
  EXPECT_TRUE(order.complete());
  EXPECT_THAT(order.nodes, ElementsAre(1, 0));
}

TEST(TopoOrderTest, LeavesExcludedNodesOut) {
  DependencyGraph graph(4);
  graph.Exclude(1);
  graph.AddEdge(2, 0);
  TopologicalOrder order = SortTopologically(graph);
  EXPECT_TRUE(order.complete());
  EXPECT_THAT(order.nodes, ElementsAre(2, 0, 3));
}

TEST(TopoOrderTest, NamesTheLowestNodeOfACycle) {
  // 0 is free; 1 -> 2 -> 3 -> 1 is a cycle, and 4 waits for it.
  DependencyGraph graph(5);
  graph.AddEdge(1, 2);
  graph.AddEdge(2, 3);
  graph.AddEdge(3, 1);
  graph.AddEdge(3, 4);
  TopologicalOrder order = SortTopologically(graph);
  EXPECT_FALSE(order.complete());
  EXPECT_EQ(order.first_unordered, 1);
  EXPECT_THAT(order.nodes, ElementsAre(0));
}

TEST(TopoOrderTest, EmptyGraphIsComplete) {
  TopologicalOrder order = SortTopologically(DependencyGraph(0));
  EXPECT_TRUE(order.complete());
  EXPECT_TRUE(order.nodes.empty());
}

}  // namespace
}  // namespace nabla
