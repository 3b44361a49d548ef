// Loading a trained model for inference: the graph the MNIST example saves
// (model.pbtxt or model.pb) with the weights of its checkpoint
// (checkpoint.ckpt), or a bare GraphDef file. Shared by the `nabla` command
// line, the demo server, the exporters and the tests.
//
//   NABLA_ASSIGN_OR_RETURN(std::string dir, ShippedModelDir());
//   NABLA_ASSIGN_OR_RETURN(SavedModel model, LoadSavedModel(dir));
//   // model.session holds the trained variables; run it as any session.

#ifndef NABLA_INFER_SAVED_MODEL_H_
#define NABLA_INFER_SAVED_MODEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/session.h"
#include "train/checkpoint.h"

namespace nabla {

// kModelGraphFile and kModelCheckpointFile are the names a saved model
// folder holds (model.pb is accepted in place of model.pbtxt).
inline constexpr char kModelGraphFile[] = "model.pbtxt";
inline constexpr char kModelCheckpointFile[] = "checkpoint.ckpt";

// SavedModel is a loaded graph with its variables restored.
struct SavedModel {
  std::unique_ptr<Session> session;
  // The files it came from; checkpoint_path is empty for a bare GraphDef,
  // whose variables keep their initial values.
  std::string graph_path;
  std::string checkpoint_path;
  CheckpointInfo info;
};

// LoadModelGraph reads the graph of `path`: a saved model folder or a
// GraphDef file (.pb binary, .pbtxt text). No variable is allocated.
absl::StatusOr<Graph> LoadModelGraph(const std::string& path);

// LoadSavedModel loads the graph of `path` into a session and restores the
// folder's checkpoint, if it has one (optimizer slots the graph lacks are
// ignored). NotFound names what is missing; errors name the file.
absl::StatusOr<SavedModel> LoadSavedModel(const std::string& path);

// ShippedModelDir is the folder of the lecture model shipped with nabla
// (data/models/lecture): $NABLA_MODEL_DIR if set, else found beside the
// running binary (Bazel runfiles) or in the source tree.
absl::StatusOr<std::string> ShippedModelDir();

}  // namespace nabla

#endif  // NABLA_INFER_SAVED_MODEL_H_
