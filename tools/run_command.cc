// nabla run --model=DIR --feed=NAME=FILE.npy ... --fetch=NAME ...
// --out_dir=DIR: runs any saved graph on NumPy inputs and writes each
// fetched value as NAME.npy.

#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/file.h"
#include "core/status.h"
#include "infer/saved_model.h"
#include "io/npy.h"
#include "tools/commands.h"

ABSL_FLAG(std::vector<std::string>, feed, {},
          "NAME=FILE.npy: feed the value NAME (a node, or NAME:INDEX for "
          "another output) from a NumPy file; its dtype must be the value's "
          "and its shape agree with the value's known dimensions.");
ABSL_FLAG(std::vector<std::string>, fetch, {},
          "NAME: a value to compute and write to --out_dir as NAME.npy ('/' "
          "and ':' in NAME become '_').");
ABSL_FLAG(std::string, out_dir, "",
          "Where the fetched values are written (created if missing).");

namespace nabla {
namespace {

// "dense1/w" -> "dense1_w.npy", "loss:1" -> "loss_1.npy".
std::string FileNameFor(const std::string& value) {
  return absl::StrCat(absl::StrReplaceAll(value, {{"/", "_"}, {":", "_"}}), ".npy");
}

absl::StatusOr<std::pair<NodeOutput, Tensor>> ReadFeed(const Graph& graph,
                                                       const std::string& feed) {
  size_t eq = feed.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == feed.size()) {
    return UsageError(absl::StrCat("--feed=", feed, ": expected NAME=FILE.npy"));
  }
  const std::string name = feed.substr(0, eq);
  const std::string file = feed.substr(eq + 1);
  absl::StatusOr<NodeOutput> value = graph.FindOutput(name);
  if (!value.ok()) {
    return Annotate(value.status(), absl::StrCat("--feed=", feed));
  }
  const TensorSpec& spec = graph.spec(*value);
  NABLA_ASSIGN_OR_RETURN(Tensor tensor, ReadNpy(UserPath(file)));
  if (tensor.dtype() != spec.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", file, "' holds ", DTypeName(tensor.dtype()), tensor.shape().ToString(),
        " but '", name, "' is ", spec.ToString(), ": the dtypes differ"));
  }
  if (!tensor.shape().IsCompatibleWith(spec.shape)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", file, "' holds ", DTypeName(tensor.dtype()), tensor.shape().ToString(),
        " but '", name, "' is ", spec.ToString(), ": the shapes do not agree"));
  }
  return std::make_pair(*value, std::move(tensor));
}

absl::Status RunRun(const Invocation& invocation) {
  const std::vector<std::string>& feed_flags = invocation.Values("feed");
  const std::vector<std::string>& fetch_flags = invocation.Values("fetch");
  const std::string out_dir = UserPath(absl::GetFlag(FLAGS_out_dir));
  if (fetch_flags.empty()) return UsageError("give at least one --fetch=NAME");
  if (out_dir.empty()) return UsageError("give --out_dir=DIR for the fetched values");

  NABLA_RETURN_IF_ERROR(ApplyThreadsFlag());
  NABLA_ASSIGN_OR_RETURN(std::string model_path, ModelFromFlag());
  NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel(model_path));
  const Graph& graph = model.session->graph();
  if (model.checkpoint_path.empty()) {
    std::fprintf(stderr,
                 "nabla run: note: '%s' has no checkpoint; its variables hold "
                 "their initial values\n",
                 model.graph_path.c_str());
  }

  std::vector<std::pair<NodeOutput, Tensor>> feeds;
  for (const std::string& feed : feed_flags) {
    NABLA_ASSIGN_OR_RETURN(auto value, ReadFeed(graph, feed));
    feeds.push_back(std::move(value));
  }
  std::vector<NodeOutput> fetches;
  std::map<std::string, std::string> files;  // file name -> fetch
  for (const std::string& fetch : fetch_flags) {
    absl::StatusOr<NodeOutput> value = graph.FindOutput(fetch);
    if (!value.ok()) return Annotate(value.status(), absl::StrCat("--fetch=", fetch));
    fetches.push_back(*value);
    auto [it, inserted] = files.emplace(FileNameFor(fetch), fetch);
    if (!inserted) {
      return UsageError(absl::StrCat("--fetch=", fetch, " and --fetch=", it->second,
                                     " would both be written to ", it->first));
    }
  }

  NABLA_ASSIGN_OR_RETURN(std::vector<Tensor> values, model.session->Run(feeds, fetches));

  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create '", out_dir, "': ", error.message()));
  }
  for (size_t i = 0; i < fetches.size(); ++i) {
    const std::string path = absl::StrCat(out_dir, "/", FileNameFor(fetch_flags[i]));
    NABLA_RETURN_IF_ERROR(WriteNpy(values[i], path));
    std::printf("%s: %s%s -> %s\n", fetch_flags[i].c_str(),
                std::string(DTypeName(values[i].dtype())).c_str(),
                values[i].shape().ToString().c_str(), path.c_str());
  }
  return absl::OkStatus();
}

}  // namespace

const Command& RunCommand() {
  static const Command* const kCommand = new Command{
      "run",
      "Run any saved graph on .npy inputs and write the fetched values as .npy",
      "run [--model=DIR] --feed=NAME=FILE.npy... --fetch=NAME... --out_dir=DIR",
      "Loads the model (its checkpoint too, for a saved folder), feeds each\n"
      "--feed value from its .npy file (the batch size comes from the file),\n"
      "computes the --fetch values and writes each to --out_dir as NAME.npy.\n\n"
      "  nabla run --model=/tmp/mnist --feed=images=digits.npy \\\n"
      "      --fetch=probabilities --fetch=conv1 --out_dir=/tmp/out",
      {"model", "feed", "fetch", "out_dir", "threads"},
      /*min_args=*/0,
      /*max_args=*/0,
      RunRun};
  return *kCommand;
}

}  // namespace nabla
