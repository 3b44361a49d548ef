#include "tests/onnx/onnx_runtime.h"

#include <limits.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/file.h"
#include "core/status.h"
#include "graph/graph_def.h"
#include "nlohmann/json.hpp"

namespace nabla {
namespace testing {
namespace {

std::string Quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

absl::StatusOr<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot resolve ", path));
  }
  return std::string(resolved);
}

std::string Dirname(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

// The runner script in the test's runfiles, and the node_modules folder
// beside it in the source tree (tests/js/node_modules, installed by
// tools/setup.sh). Bazel's local strategy links runfiles to the sources,
// so the script's real path leads there; $NABLA_NODE_MODULES overrides.
struct NodeRunner {
  std::string script;
  std::string node_modules;
};

absl::StatusOr<NodeRunner> FindNodeRunner() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    return absl::FailedPreconditionError("run this test under bazel test");
  }
  NodeRunner runner;
  runner.script = absl::StrCat(srcdir, "/", workspace, "/tests/onnx/onnx_run.cjs");
  if (const char* modules = std::getenv("NABLA_NODE_MODULES")) {
    runner.node_modules = modules;
    return runner;
  }
  NABLA_ASSIGN_OR_RETURN(std::string real, RealPath(runner.script));
  runner.node_modules = Dirname(Dirname(real)) + "/js/node_modules";
  std::ifstream probe(runner.node_modules + "/onnxruntime-node/package.json");
  if (!probe) {
    return absl::FailedPreconditionError(absl::StrCat(
        "onnxruntime-node is not installed in ", runner.node_modules,
        " (tools/setup.sh runs npm ci --ignore-scripts in tests/js)"));
  }
  return runner;
}

const char* OrtType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kI32:
      return "int32";
    case DType::kI64:
      return "int64";
    case DType::kU8:
      return "uint8";
    case DType::kInvalid:
      break;
  }
  return "invalid";
}

absl::StatusOr<DType> FromOrtType(const std::string& type) {
  for (DType d : {DType::kF32, DType::kI32, DType::kI64, DType::kU8}) {
    if (type == OrtType(d)) return d;
  }
  return absl::InvalidArgumentError(absl::StrCat("ONNX Runtime returned type ", type));
}

absl::StatusOr<std::string> NewRunDir() {
  static int runs = 0;
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/onnx_run_", ++runs);
  NABLA_RETURN_IF_ERROR(RunCommand("rm -rf " + Quote(dir) + " && mkdir -p " + Quote(dir)));
  return dir;
}

}  // namespace

absl::Status RunCommand(const std::string& command) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string log = absl::StrCat(tmp ? tmp : "/tmp", "/command.log");
  int status = std::system((command + " >" + Quote(log) + " 2>&1").c_str());
  if (status == 0) return absl::OkStatus();
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  std::string text = output.str();
  if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
  return absl::InternalError(
      absl::StrCat("`", command, "` exited with status ", status, ":\n", text));
}

absl::Status CheckOnnxModel(const std::string& path) {
  return RunCommand(absl::StrCat(
      "/usr/bin/python3 -c 'import onnx, sys; "
      "onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' ",
      Quote(path)));
}

absl::StatusOr<std::vector<Tensor>> RunOnnxRuntime(
    const std::string& path,
    const std::vector<std::pair<std::string, Tensor>>& inputs) {
  NABLA_ASSIGN_OR_RETURN(NodeRunner runner, FindNodeRunner());
  NABLA_ASSIGN_OR_RETURN(std::string dir, NewRunDir());
  nlohmann::json manifest;
  manifest["model"] = path;
  manifest["output_dir"] = dir;
  manifest["inputs"] = nlohmann::json::array();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i].second;
    std::string file = absl::StrCat(dir, "/input_", i, ".bin");
    NABLA_RETURN_IF_ERROR(WriteFileAtomically(
        file, absl::string_view(static_cast<const char*>(t.raw_data()), t.nbytes())));
    std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
    manifest["inputs"].push_back({{"name", inputs[i].first},
                                  {"type", OrtType(t.dtype())},
                                  {"dims", dims},
                                  {"file", file}});
  }
  std::string manifest_path = dir + "/manifest.json";
  NABLA_RETURN_IF_ERROR(WriteFileAtomically(manifest_path, manifest.dump()));
  NABLA_RETURN_IF_ERROR(RunCommand(absl::StrCat(
      "NODE_PATH=", Quote(runner.node_modules), " /usr/bin/node ",
      Quote(runner.script), " ", Quote(manifest_path))));

  NABLA_ASSIGN_OR_RETURN(std::string listing, ReadFile(dir + "/outputs.json"));
  nlohmann::json parsed = nlohmann::json::parse(listing, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("outputs")) {
    return absl::InternalError("onnx_run.cjs wrote no output listing");
  }
  std::vector<Tensor> outputs;
  for (const nlohmann::json& out : parsed["outputs"]) {
    NABLA_ASSIGN_OR_RETURN(DType dtype, FromOrtType(out["type"].get<std::string>()));
    std::vector<int64_t> dims = out["dims"].get<std::vector<int64_t>>();
    Tensor t(dtype, Shape(absl::MakeConstSpan(dims)));
    NABLA_ASSIGN_OR_RETURN(std::string bytes, ReadFile(out["file"].get<std::string>()));
    if (bytes.size() != t.nbytes()) {
      return absl::InternalError(absl::StrCat("output '", out["name"].get<std::string>(),
                                              "' has ", bytes.size(), " bytes, expected ",
                                              t.nbytes()));
    }
    std::memcpy(t.raw_data(), bytes.data(), bytes.size());
    outputs.push_back(std::move(t));
  }
  return outputs;
}

}  // namespace testing
}  // namespace nabla
