// Conversion between Graph and its serialized form, GraphDef, and loading
// and saving GraphDefs in binary or text format.
//
// Loading validates everything a file could get wrong (unknown op, missing
// or ill-typed attribute, dangling input, cycle, duplicate name, shapes that
// do not infer, sizes over GraphOptions::max_elements) and reports it as a
// Status naming the node. A file is read only if it is a regular file of at
// most GraphLoadOptions::max_file_bytes, and a graph is built only if its
// variables and tensor attributes fit GraphOptions::max_variable_bytes and
// max_constant_bytes, so no claim in a file is allocated before it is
// checked.
//
//   NABLA_RETURN_IF_ERROR(SaveGraph(graph, "model.pbtxt"));  // text format
//   NABLA_ASSIGN_OR_RETURN(Graph loaded, LoadGraph("model.pbtxt"));

#ifndef NABLA_GRAPH_GRAPH_DEF_H_
#define NABLA_GRAPH_GRAPH_DEF_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "proto/graph.pb.h"

namespace nabla {

// The GraphDef format version written by this build; loading accepts 1
// through this.
inline constexpr int kGraphDefVersion = 1;

// kDefaultMaxGraphFileBytes (256 MiB) is the default cap on a graph file.
// libprotobuf's text parser crashes on inputs near 2 GiB, so a raised cap
// must stay well below that.
inline constexpr int64_t kDefaultMaxGraphFileBytes = int64_t{256} << 20;

// GraphLoadOptions bound what LoadGraph accepts.
struct GraphLoadOptions {
  // The loaded graph's options, caps on tensor sizes, variable and constant
  // bytes included.
  GraphOptions graph;
  // The largest file LoadGraph reads (ResourceExhausted beyond it). Held
  // to at most 1 GiB for text and 2 GiB - 1 for binary files, what
  // libprotobuf parses safely.
  int64_t max_file_bytes = kDefaultMaxGraphFileBytes;
};

proto::GraphDef ToGraphDef(const Graph& graph);

// FromGraphDef builds a graph from `def`: InvalidArgument for anything
// malformed, ResourceExhausted when its Variable nodes would take more than
// options.max_variable_bytes or its tensor attributes more than
// options.max_constant_bytes (the error names the node and the limit).
absl::StatusOr<Graph> FromGraphDef(const proto::GraphDef& def,
                                   GraphOptions options = {});

enum class GraphFormat { kBinary, kText };

// The format a path implies: text for ".pbtxt" and ".txt", else binary.
GraphFormat FormatForPath(absl::string_view path);

absl::Status SaveGraph(const Graph& graph, const std::string& path);
absl::Status SaveGraph(const Graph& graph, const std::string& path,
                       GraphFormat format);

// LoadGraph reads a graph from `path` in the format its name implies (or
// `format`). Errors: ReadFile's (InvalidArgument for a FIFO, directory or
// device, ResourceExhausted over options.max_file_bytes, NotFound, ...);
// InvalidArgument "empty graph file" for a file of nothing or only
// whitespace, and for a file that does not parse; then FromGraphDef's,
// prefixed with the path.
absl::StatusOr<Graph> LoadGraph(const std::string& path,
                                const GraphLoadOptions& options = {});
absl::StatusOr<Graph> LoadGraph(const std::string& path, GraphFormat format,
                                const GraphLoadOptions& options = {});

}  // namespace nabla

#endif  // NABLA_GRAPH_GRAPH_DEF_H_
