#include "infer/saved_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "graph/graph_def.h"

namespace nabla {
namespace {

// The shipped model's folder, relative to a runfiles tree or to the
// source tree's root.
constexpr char kShippedModel[] = "data/models/lecture";
constexpr char kWorkspace[] = "nabla";

enum class Kind { kMissing, kFile, kDirectory, kOther };

Kind KindOf(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return Kind::kMissing;
  if (S_ISREG(info.st_mode)) return Kind::kFile;
  if (S_ISDIR(info.st_mode)) return Kind::kDirectory;
  return Kind::kOther;
}

// The graph file of a saved model folder: model.pbtxt, else model.pb.
absl::StatusOr<std::string> GraphFileIn(const std::string& dir) {
  for (const char* name : {kModelGraphFile, "model.pb"}) {
    std::string candidate = absl::StrCat(dir, "/", name);
    if (KindOf(candidate) == Kind::kFile) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("'", dir, "' has no ", kModelGraphFile,
                                          " or model.pb: not a saved model folder"));
}

absl::StatusOr<std::string> GraphFileFor(const std::string& path) {
  switch (KindOf(path)) {
    case Kind::kDirectory:
      return GraphFileIn(path);
    case Kind::kFile:
      return path;
    case Kind::kMissing:
      return absl::NotFoundError(
          absl::StrCat("no model at '", path, "': ", std::strerror(errno)));
    case Kind::kOther:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", path, "' is neither a model folder nor a GraphDef file"));
}

bool IsSavedModel(const std::string& dir) {
  return KindOf(dir) == Kind::kDirectory && GraphFileIn(dir).ok();
}

std::string SelfExe() {
  std::vector<char> buffer(4096);
  ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return "";
  return std::string(buffer.data(), static_cast<size_t>(n));
}

}  // namespace

absl::StatusOr<Graph> LoadModelGraph(const std::string& path) {
  NABLA_ASSIGN_OR_RETURN(std::string graph_file, GraphFileFor(path));
  return LoadGraph(graph_file);
}

absl::StatusOr<SavedModel> LoadSavedModel(const std::string& path) {
  NABLA_ASSIGN_OR_RETURN(std::string graph_file, GraphFileFor(path));
  NABLA_ASSIGN_OR_RETURN(Graph graph, LoadGraph(graph_file));
  SavedModel model;
  model.graph_path = graph_file;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(std::move(graph));
  if (!session.ok()) return Annotate(session.status(), graph_file);
  model.session = *std::move(session);
  if (KindOf(path) != Kind::kDirectory) return model;

  std::string checkpoint = absl::StrCat(path, "/", kModelCheckpointFile);
  if (KindOf(checkpoint) == Kind::kMissing) {
    return absl::NotFoundError(absl::StrCat(
        "model folder '", path, "' has a graph but no ", kModelCheckpointFile,
        ": its weights would be untrained"));
  }
  // An inference graph has none of the optimizer's slots the training
  // graph's checkpoint holds; every variable the graph has must be there.
  CheckpointLoadOptions options;
  options.allow_unused = true;
  NABLA_ASSIGN_OR_RETURN(model.info,
                         LoadCheckpoint(checkpoint, model.session.get(), options));
  model.checkpoint_path = checkpoint;
  return model;
}

absl::StatusOr<std::string> ShippedModelDir() {
  if (const char* dir = std::getenv("NABLA_MODEL_DIR"); dir != nullptr && *dir) {
    if (!IsSavedModel(dir)) {
      return absl::NotFoundError(absl::StrCat(
          "$NABLA_MODEL_DIR is '", dir, "', which is no saved model folder (",
          kModelGraphFile, " and ", kModelCheckpointFile, ")"));
    }
    return std::string(dir);
  }
  std::vector<std::string> candidates;
  // A runfiles tree: Bazel sets these for tests and `bazel run`.
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* root = std::getenv(var); root != nullptr && *root) {
      candidates.push_back(absl::StrCat(root, "/", kWorkspace, "/", kShippedModel));
    }
  }
  // A binary started directly, e.g. bazel-bin/tools/nabla.
  if (std::string exe = SelfExe(); !exe.empty()) {
    candidates.push_back(
        absl::StrCat(exe, ".runfiles/", kWorkspace, "/", kShippedModel));
  }
  // The source tree: `bazel run` says where it is, else the working folder.
  if (const char* root = std::getenv("BUILD_WORKSPACE_DIRECTORY");
      root != nullptr && *root) {
    candidates.push_back(absl::StrCat(root, "/", kShippedModel));
  }
  candidates.push_back(kShippedModel);
  for (const std::string& dir : candidates) {
    if (IsSavedModel(dir)) return dir;
  }
  return absl::NotFoundError(absl::StrCat(
      "the shipped model was not found (looked in ", absl::StrJoin(candidates, ", "),
      "); set $NABLA_MODEL_DIR to a saved model folder"));
}

}  // namespace nabla
