// Training checkpoints: a session's variables and the training loop's state
// in one file.
//
// A checkpoint holds every variable of a session (weights, optimizer slots,
// learning rate, step count), the loop's step and epoch, its random
// generator state and free-form metadata, as a proto::Checkpoint inside a
// proto::CheckpointFile envelope carrying the payload's zlib crc32. Files are
// written atomically (temporary file, fsync, rename), so a crash leaves the
// previous checkpoint intact. Loading verifies the checksum, the version and
// every variable's dtype and shape against the session before it changes
// anything: a failed load leaves the session as it was.
//
//   CheckpointInfo info;
//   info.epoch = 3;
//   info.step = 1407;
//   NABLA_RETURN_IF_ERROR(SaveCheckpoint(*session, info, "ckpt/epoch3.ckpt"));
//   ...
//   NABLA_ASSIGN_OR_RETURN(CheckpointInfo restored,
//                          LoadCheckpoint("ckpt/epoch3.ckpt", session.get()));

#ifndef NABLA_TRAIN_CHECKPOINT_H_
#define NABLA_TRAIN_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/tensor.h"
#include "graph/session.h"

namespace nabla {

// kCheckpointVersion is the format version this build writes; it reads 1
// through this.
inline constexpr int kCheckpointVersion = 1;

// kMaxCheckpointEpoch and kMaxCheckpointStep bound the counts a checkpoint
// may hold: a file claiming more is refused, so that no loop runs on a
// count nobody could have trained.
inline constexpr int64_t kMaxCheckpointEpoch = 1'000'000'000;
inline constexpr int64_t kMaxCheckpointStep = int64_t{1} << 53;

// kDefaultMaxCheckpointBytes is the default cap on a checkpoint file: 2 GiB
// - 1, the most libprotobuf parses, which no cap can exceed.
inline constexpr int64_t kDefaultMaxCheckpointBytes = (int64_t{1} << 31) - 1;

// CheckpointInfo is everything in a checkpoint besides the variables.
struct CheckpointInfo {
  // Optimizer steps taken and epochs completed, in [0, kMaxCheckpointStep]
  // and [0, kMaxCheckpointEpoch].
  int64_t step = 0;
  int64_t epoch = 0;
  // The training loop's random generator state (std::mt19937_64 text form).
  std::string rng_state;
  // Facts for people: the model, the flags it was trained with.
  std::map<std::string, std::string> metadata;
};

// SaveCheckpoint writes every variable of `session` and `info` to `path`,
// replacing any file there atomically. InvalidArgument when info's step or
// epoch is out of range; WriteFileAtomically's errors.
absl::Status SaveCheckpoint(const Session& session, const CheckpointInfo& info,
                            const std::string& path);

// CheckpointLoadOptions relax what loading demands.
struct CheckpointLoadOptions {
  // Ignore checkpointed variables the session does not have, e.g. optimizer
  // slots when restoring weights into an inference graph. Every variable of
  // the session must still be in the checkpoint.
  bool allow_unused = false;
  // The largest file read (ResourceExhausted beyond it); held to at most
  // kDefaultMaxCheckpointBytes.
  int64_t max_file_bytes = kDefaultMaxCheckpointBytes;
};

// VerifiedCheckpoint is a checkpoint read from a file and checked against a
// session, not yet applied to it.
struct VerifiedCheckpoint {
  CheckpointInfo info;
  // The values for the session's variables, by name.
  std::vector<std::pair<std::string, Tensor>> variables;
};

// ReadCheckpoint reads `path` and checks it against `session`: DataLoss if
// the file is corrupt or truncated, does not end exactly where its envelope
// does (bytes or a second checkpoint appended), or holds a step or epoch out
// of range; InvalidArgument for a path that is not a regular file (a FIFO,
// /dev/zero), an unsupported version or a variable whose dtype or shape
// differs; ResourceExhausted for a file over options.max_file_bytes;
// NotFound for a missing file or a variable of the session that the
// checkpoint lacks. Changes nothing.
absl::StatusOr<VerifiedCheckpoint> ReadCheckpoint(
    const std::string& path, const Session& session,
    const CheckpointLoadOptions& options = {});

// RestoreVariables assigns a verified checkpoint's variables to the session
// it was verified against.
absl::Status RestoreVariables(const VerifiedCheckpoint& checkpoint,
                              Session* session);

// LoadCheckpoint is ReadCheckpoint followed by RestoreVariables; on error
// the session is unchanged.
absl::StatusOr<CheckpointInfo> LoadCheckpoint(
    const std::string& path, Session* session,
    const CheckpointLoadOptions& options = {});

}  // namespace nabla

#endif  // NABLA_TRAIN_CHECKPOINT_H_
