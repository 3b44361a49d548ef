// GraphBuilder: the C++ API for building graphs.
//
// Values are Outputs; op functions (declared in ops/*.h) take Outputs and
// return Outputs, inferring shapes as they go. The first error is kept: later
// calls that use its invalid Outputs do nothing, and Build() reports it with
// the op, the node and the input shapes.
//
//   GraphBuilder b;
//   Output x = b.Placeholder("images", {kUnknownDim, 784});
//   Output w = b.Variable("w", {784, 10}, Initializer::GlorotUniform());
//   Output b0 = b.Variable("b", {10}, Initializer::Zeros());
//   Output probs = Softmax(Dense(x, w, b0));
//   absl::StatusOr<Graph> graph = b.Build();

#ifndef NABLA_GRAPH_BUILDER_H_
#define NABLA_GRAPH_BUILDER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/initializers.h"

namespace nabla {

class GraphBuilder {
 public:
  explicit GraphBuilder(GraphOptions options = {});
  // Continues building on an existing graph, for example a loaded GraphDef
  // to which gradients and an optimizer are to be added.
  explicit GraphBuilder(Graph graph);

  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // A value fed when the graph runs. kUnknownDim dimensions take the fed
  // tensor's size.
  Output Placeholder(absl::string_view name, const Shape& shape,
                     DType dtype = DType::kF32);
  // A value fixed in the graph.
  Output Constant(const Tensor& value, absl::string_view name = {});
  Output Scalar(float value, absl::string_view name = {});
  // A trainable or stateful value that keeps its contents across runs of a
  // session; `init` decides its first contents.
  Output Variable(absl::string_view name, const Shape& shape,
                  const Initializer& init, DType dtype = DType::kF32);

  // Adds a node of any registered op; returns its outputs, or an empty
  // vector once the builder has failed. `name` empty picks "<op>", "<op>_1"...
  std::vector<Output> AddOp(absl::string_view op, absl::Span<const Output> inputs,
                            AttrMap attrs = {}, absl::string_view name = {});
  // AddOp for single-output ops: returns output 0 or an invalid Output.
  Output AddOp1(absl::string_view op, absl::Span<const Output> inputs,
                AttrMap attrs = {}, absl::string_view name = {});

  // The output called `ref` ("name" or "name:index") of the graph so far.
  absl::StatusOr<Output> Find(absl::string_view ref);

  // The first error, or OK.
  const absl::Status& status() const { return status_; }
  bool ok() const { return status_.ok(); }
  // Records `error` unless an earlier one is kept.
  void Fail(absl::Status error);

  // The graph so far, or the first error. The builder stays usable.
  absl::StatusOr<Graph> Build() const;
  const Graph& graph() const { return graph_; }

  // A node name not used yet, made from `base`.
  std::string UniqueName(absl::string_view base) const;

 private:
  Graph graph_;
  absl::Status status_;
};

// MakeOp adds a node to the builder that owns the first valid input; the op
// functions of ops/ are written with it. With no valid input (the builder
// already failed, or the caller passed Output()) it returns Output().
Output MakeOp(absl::string_view op, std::initializer_list<Output> inputs,
              AttrMap attrs = {}, absl::string_view name = {});
// MakeOp for ops with several outputs.
std::vector<Output> MakeOpOutputs(absl::string_view op,
                                  std::initializer_list<Output> inputs,
                                  AttrMap attrs = {},
                                  absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_GRAPH_BUILDER_H_
