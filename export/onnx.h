// ONNX export: the inference part of a nabla graph, weights included, as an
// ONNX model that other runtimes (ONNX Runtime, TensorRT, OpenVINO) load.
//
// The export walks back from the requested outputs (by default the graph's
// "probabilities") to the placeholders they need, which become the model's
// inputs; variables and constants become initializers holding their current
// values. Training-only nodes (losses, metrics, gradients, optimizer
// updates) are left out because no inference output depends on them; asking
// for one, or for any op without an ONNX counterpart, is an error naming the
// op and the node, never a silently different model. Unknown batch
// dimensions stay symbolic ("N").
//
//   NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel("data/models/lecture"));
//   NABLA_RETURN_IF_ERROR(ExportOnnxFile(*model.session, "lecture.onnx"));
//
// The schema is ONNX's own onnx.proto (Debian's libonnx-dev, ONNX 1.12),
// compiled by //third_party/onnx; the messages are in namespace onnx.
//
// How nabla's ops map (opset 13):
//   Conv2D, Conv2DWithBias   Conv (pads computed from the padding mode),
//                            then Relu for a fused "relu" activation
//   MaxPool2D, AvgPool2D     MaxPool, AveragePool (count_include_pad=0)
//   Dense                    Gemm (w is [in, out], transB=0), then Relu
//   MatMul                   MatMul, or Gemm when either side is transposed
//   Relu, Sigmoid, Tanh, LeakyRelu, Softmax, LogSoftmax, Flatten, Add, Sub,
//   Mul, Identity            the ONNX op of the same name
//   Reshape                  Reshape with the shape as an int64 initializer
//   Cast(x, scale)           Cast to float, then Mul by the scale (a u8
//                            input stays u8 in the model)
//   Sum, Mean                ReduceSum, ReduceMean
//   ArgMax                   ArgMax (keepdims=0, int64 as in nabla)
//   ZerosLike                ConstantOfShape(Shape(x))

#ifndef NABLA_EXPORT_ONNX_H_
#define NABLA_EXPORT_ONNX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/session.h"
#include "graph/variables.h"
#include "third_party/onnx/onnx.pb.h"

namespace nabla {

// kOnnxMinOpset and kOnnxMaxOpset bound the opsets ExportOnnx writes: 13 is
// the first with one-axis Softmax and ReduceSum's axes input, 17 the last
// that ONNX 1.12's checker knows.
inline constexpr int64_t kOnnxMinOpset = 13;
inline constexpr int64_t kOnnxMaxOpset = 17;

// OnnxExportOptions: what to export and how to name it.
struct OnnxExportOptions {
  // The values to export as the model's outputs, as "node" or "node:index".
  // Empty: "probabilities", the name nabla's classifiers give their
  // prediction.
  std::vector<std::string> outputs;
  // The ONNX default-domain opset, in [kOnnxMinOpset, kOnnxMaxOpset].
  int64_t opset = kOnnxMinOpset;
  // The dim_param given to an unknown first (batch) dimension.
  std::string batch_dim = "N";
  // The ONNX graph's name.
  std::string graph_name = "nabla";
};

// ExportOnnx returns the ONNX model of `options.outputs` of `graph`, with
// the weights in `values` (a session's variables, e.g. after restoring a
// checkpoint). Errors: NotFound for an output that is not in the graph;
// Unimplemented for a needed node whose op has no ONNX mapping (the message
// names the op and the node, and says when it is training-only);
// FailedPrecondition for a variable without a value in `values`;
// InvalidArgument for an opset out of range or an output that is a
// placeholder or weight rather than a computed value.
absl::StatusOr<onnx::ModelProto> ExportOnnx(const Graph& graph,
                                            const VariableStore& values,
                                            const OnnxExportOptions& options = {});

// ExportOnnx of a session's graph with its current variable values.
absl::StatusOr<onnx::ModelProto> ExportOnnx(const Session& session,
                                            const OnnxExportOptions& options = {});

// ExportOnnxFile writes ExportOnnx's model to `path` (binary protobuf, the
// .onnx format), replacing any file there atomically. Errors are
// ExportOnnx's, or the file's.
absl::Status ExportOnnxFile(const Graph& graph, const VariableStore& values,
                            const std::string& path,
                            const OnnxExportOptions& options = {});
absl::Status ExportOnnxFile(const Session& session, const std::string& path,
                            const OnnxExportOptions& options = {});

}  // namespace nabla

#endif  // NABLA_EXPORT_ONNX_H_
