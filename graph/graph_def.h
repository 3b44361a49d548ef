// Conversion between Graph and its serialized form, GraphDef, and loading
// and saving GraphDefs in binary or text format.
//
// Loading validates everything a file could get wrong (unknown op, missing
// or ill-typed attribute, dangling input, cycle, duplicate name, shapes that
// do not infer, sizes over GraphOptions::max_elements) and reports it as a
// Status naming the node.
//
//   NABLA_RETURN_IF_ERROR(SaveGraph(graph, "model.pbtxt"));  // text format
//   NABLA_ASSIGN_OR_RETURN(Graph loaded, LoadGraph("model.pbtxt"));

#ifndef NABLA_GRAPH_GRAPH_DEF_H_
#define NABLA_GRAPH_GRAPH_DEF_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "proto/graph.pb.h"

namespace nabla {

// The GraphDef format version written by this build; loading accepts 1
// through this.
inline constexpr int kGraphDefVersion = 1;

proto::GraphDef ToGraphDef(const Graph& graph);
absl::StatusOr<Graph> FromGraphDef(const proto::GraphDef& def,
                                   GraphOptions options = {});

enum class GraphFormat { kBinary, kText };

// The format a path implies: text for ".pbtxt" and ".txt", else binary.
GraphFormat FormatForPath(absl::string_view path);

absl::Status SaveGraph(const Graph& graph, const std::string& path);
absl::Status SaveGraph(const Graph& graph, const std::string& path,
                       GraphFormat format);
absl::StatusOr<Graph> LoadGraph(const std::string& path,
                                GraphOptions options = {});
absl::StatusOr<Graph> LoadGraph(const std::string& path, GraphFormat format,
                                GraphOptions options = {});

}  // namespace nabla

#endif  // NABLA_GRAPH_GRAPH_DEF_H_
