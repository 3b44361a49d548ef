// nabla export-onnx [--model=DIR] [--output=NAME]... [--opset=N] OUT.onnx:
// the inference part of a saved model, trained weights included, as an ONNX
// model (export/onnx.h).

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "export/onnx.h"
#include "core/file.h"
#include "infer/saved_model.h"
#include "tools/commands.h"

ABSL_FLAG(std::vector<std::string>, output, {},
          "NAME: a value to export as a model output, \"node\" or "
          "\"node:index\". Default: probabilities.");
ABSL_FLAG(int64_t, opset, nabla::kOnnxMinOpset,
          "The ONNX opset to write, 13 through 17.");

namespace nabla {
namespace {

// "images uint8[N,1,28,28]": a model input or output as ONNX declares it.
std::string DescribeValue(const onnx::ValueInfoProto& value) {
  const onnx::TypeProto::Tensor& tensor = value.type().tensor_type();
  std::vector<std::string> dims;
  for (const onnx::TensorShapeProto::Dimension& dim : tensor.shape().dim()) {
    dims.push_back(dim.has_dim_value() ? absl::StrCat(dim.dim_value())
                                       : dim.has_dim_param() ? dim.dim_param() : "?");
  }
  return absl::StrCat(
      value.name(), " ",
      onnx::TensorProto::DataType_Name(
          static_cast<onnx::TensorProto::DataType>(tensor.elem_type())),
      "[", absl::StrJoin(dims, ","), "]");
}

std::string DescribeValues(
    const google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>& values) {
  std::vector<std::string> described;
  for (const onnx::ValueInfoProto& value : values) described.push_back(DescribeValue(value));
  return absl::StrJoin(described, ", ");
}

absl::Status RunExportOnnx(const Invocation& invocation) {
  OnnxExportOptions options;
  options.outputs = invocation.Values("output");
  options.opset = absl::GetFlag(FLAGS_opset);
  if (options.opset < kOnnxMinOpset || options.opset > kOnnxMaxOpset) {
    return UsageError(absl::StrCat("--opset must be in [", kOnnxMinOpset, ", ",
                                   kOnnxMaxOpset, "], got ", options.opset));
  }
  NABLA_ASSIGN_OR_RETURN(std::string path, ModelFromFlag());
  NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel(path));
  if (model.checkpoint_path.empty()) {
    std::fprintf(stderr,
                 "nabla export-onnx: note: '%s' has no checkpoint; the model "
                 "gets the variables' initial values\n",
                 model.graph_path.c_str());
  }
  NABLA_ASSIGN_OR_RETURN(onnx::ModelProto onnx_model, ExportOnnx(*model.session, options));
  std::string bytes;
  if (!onnx_model.SerializeToString(&bytes)) {
    return absl::InternalError("cannot serialize the ONNX model (over 2 GiB?)");
  }
  const std::string out = UserPath(invocation.args[0]);
  NABLA_RETURN_IF_ERROR(WriteFileAtomically(out, bytes));
  std::printf("%s: ONNX opset %lld, %zu bytes\n  inputs:  %s\n  outputs: %s\n",
              out.c_str(), static_cast<long long>(options.opset), bytes.size(),
              DescribeValues(onnx_model.graph().input()).c_str(),
              DescribeValues(onnx_model.graph().output()).c_str());
  return absl::OkStatus();
}

}  // namespace

const Command& ExportOnnxCommand() {
  static const Command* const kCommand = new Command{
      "export-onnx",
      "The model's inference part, with its weights, as ONNX",
      "export-onnx [--model=DIR] [--output=NAME]... [--opset=N] OUT.onnx",
      "Writes the values --output names (default: probabilities) and everything\n"
      "they depend on, with the checkpoint's weights, as an ONNX model that\n"
      "ONNX Runtime and other runtimes load. Placeholders become its inputs,\n"
      "the batch dimension stays symbolic (N), and losses, metrics, gradients\n"
      "and optimizer updates are left out. An op with no ONNX counterpart is\n"
      "an error naming the op and the node.\n\n"
      "  nabla export-onnx --model=/tmp/mnist lecture.onnx",
      {"model", "output", "opset"},
      /*min_args=*/1,
      /*max_args=*/1,
      RunExportOnnx};
  return *kCommand;
}

}  // namespace nabla
