#include "graph/graph_def.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"

namespace nabla {
namespace {

// Splits "name:1" into ("name", 1); "name" is output 0.
bool ParseInputRef(absl::string_view ref, absl::string_view* name, int* index) {
  *name = ref;
  *index = 0;
  size_t colon = ref.rfind(':');
  if (colon == absl::string_view::npos) return !ref.empty();
  *name = ref.substr(0, colon);
  return !name->empty() && absl::SimpleAtoi(ref.substr(colon + 1), index) &&
         *index >= 0;
}

}  // namespace

proto::GraphDef ToGraphDef(const Graph& graph) {
  proto::GraphDef def;
  def.set_version(kGraphDefVersion);
  for (const Node& node : graph.nodes()) {
    proto::NodeDef* n = def.add_node();
    n->set_name(node.name);
    n->set_op(node.op());
    for (NodeOutput in : node.inputs) n->add_input(graph.OutputName(in));
    for (const auto& [name, value] : node.attrs) (*n->mutable_attr())[name] = value;
  }
  return def;
}

absl::StatusOr<Graph> FromGraphDef(const proto::GraphDef& def,
                                   GraphOptions options) {
  if (def.version() < 1 || def.version() > kGraphDefVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("GraphDef version ", def.version(),
                     " is not supported (this build reads 1 to ",
                     kGraphDefVersion, ")"));
  }
  const int n = def.node_size();
  absl::flat_hash_map<absl::string_view, int> index_of;
  for (int i = 0; i < n; ++i) {
    if (!index_of.emplace(def.node(i).name(), i).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "GraphDef has two nodes named '", def.node(i).name(), "'"));
    }
  }
  // Resolve every input first, so that a dangling reference is reported as
  // such rather than as a cycle or an ordering problem.
  std::vector<std::vector<std::pair<int, int>>> inputs(n);
  for (int i = 0; i < n; ++i) {
    for (const std::string& ref : def.node(i).input()) {
      absl::string_view name;
      int index;
      if (!ParseInputRef(ref, &name, &index)) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", def.node(i).name(),
                         "' has a malformed input '", ref, "'"));
      }
      auto it = index_of.find(name);
      if (it == index_of.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("node '", def.node(i).name(), "' has input '", ref,
                         "', but no node is named '", name, "'"));
      }
      inputs[i].emplace_back(it->second, index);
    }
  }
  // Kahn's algorithm, taking ready nodes in file order so that a graph
  // written by ToGraphDef loads with the same node ids.
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> consumers(n);
  for (int i = 0; i < n; ++i) {
    for (auto [producer, index] : inputs[i]) {
      ++pending[i];
      consumers[producer].push_back(i);
    }
  }
  std::vector<int> order;
  std::vector<int> ready;
  for (int i = n - 1; i >= 0; --i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  // `ready` is a min-heap on file position.
  auto later = [](int a, int b) { return a > b; };
  std::make_heap(ready.begin(), ready.end(), later);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), later);
    int i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (int c : consumers[i]) {
      if (--pending[c] == 0) {
        ready.push_back(c);
        std::push_heap(ready.begin(), ready.end(), later);
      }
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (pending[i] > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("GraphDef has a cycle through node '",
                         def.node(i).name(), "'"));
      }
    }
  }

  Graph graph(options);
  std::vector<int> id_of(n, -1);
  for (int i : order) {
    const proto::NodeDef& node = def.node(i);
    std::vector<NodeOutput> refs;
    for (auto [producer, index] : inputs[i]) {
      refs.push_back(NodeOutput{id_of[producer], index});
      if (index >= static_cast<int>(
                       graph.node(id_of[producer]).outputs.size())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "node '", node.name(), "' reads output ", index, " of '",
            def.node(producer).name(), "', which has only ",
            graph.node(id_of[producer]).outputs.size()));
      }
    }
    AttrMap attrs(node.attr().begin(), node.attr().end());
    NABLA_ASSIGN_OR_RETURN(
        id_of[i], graph.AddNode(node.op(), node.name(), std::move(refs),
                                std::move(attrs)));
  }
  return graph;
}

GraphFormat FormatForPath(absl::string_view path) {
  return absl::EndsWith(path, ".pbtxt") || absl::EndsWith(path, ".txt")
             ? GraphFormat::kText
             : GraphFormat::kBinary;
}

absl::Status SaveGraph(const Graph& graph, const std::string& path) {
  return SaveGraph(graph, path, FormatForPath(path));
}

absl::Status SaveGraph(const Graph& graph, const std::string& path,
                       GraphFormat format) {
  proto::GraphDef def = ToGraphDef(graph);
  std::string contents;
  bool ok = true;
  if (format == GraphFormat::kText) {
    ok = google::protobuf::TextFormat::PrintToString(def, &contents);
  } else {
    contents = SerializeDeterministically(def);
  }
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot serialize the graph for '", path, "'"));
  }
  return WriteFileAtomically(path, contents);
}

absl::StatusOr<Graph> LoadGraph(const std::string& path, GraphOptions options) {
  return LoadGraph(path, FormatForPath(path), options);
}

absl::StatusOr<Graph> LoadGraph(const std::string& path, GraphFormat format,
                                GraphOptions options) {
  NABLA_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
  proto::GraphDef def;
  bool ok = format == GraphFormat::kText
                ? google::protobuf::TextFormat::ParseFromString(contents, &def)
                : def.ParseFromString(contents);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a ",
                     format == GraphFormat::kText ? "text" : "binary",
                     " GraphDef"));
  }
  absl::StatusOr<Graph> graph = FromGraphDef(def, options);
  if (!graph.ok()) return Annotate(graph.status(), path);
  return graph;
}

}  // namespace nabla
