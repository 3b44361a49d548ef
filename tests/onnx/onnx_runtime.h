// Test helpers that hand exported models to the real ONNX tools: ONNX's
// own checker (Debian's python3-onnx) and ONNX Runtime (onnxruntime-node,
// driven by tests/onnx/onnx_run.cjs under /usr/bin/node).
//
//   NABLA_ASSERT_OK(CheckOnnxModel(path));
//   NABLA_ASSERT_OK_AND_ASSIGN(std::vector<Tensor> out,
//                              RunOnnxRuntime(path, {{"images", images}}));

#ifndef NABLA_TESTS_ONNX_ONNX_RUNTIME_H_
#define NABLA_TESTS_ONNX_ONNX_RUNTIME_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/tensor.h"

namespace nabla {
namespace testing {

// CheckOnnxModel runs onnx.checker.check_model(full_check=True) on the
// model at `path`; the error carries the checker's message.
absl::Status CheckOnnxModel(const std::string& path);

// RunOnnxRuntime runs the model at `path` in ONNX Runtime on `inputs`
// (by input name) and returns its outputs in the model's order. Files go to
// a fresh folder under TEST_TMPDIR.
absl::StatusOr<std::vector<Tensor>> RunOnnxRuntime(
    const std::string& path,
    const std::vector<std::pair<std::string, Tensor>>& inputs);

// RunCommand runs `command` under /bin/sh and returns its exit status'
// error, with the last of its output, unless it exits 0.
absl::Status RunCommand(const std::string& command);

}  // namespace testing
}  // namespace nabla

#endif  // NABLA_TESTS_ONNX_ONNX_RUNTIME_H_
