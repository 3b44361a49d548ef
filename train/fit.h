// A Keras-like training loop over a Session: Fit, Evaluate, callbacks and
// resumable state.
//
// A Trainer drives a graph that already holds the model, its loss, an
// optional accuracy and a training step (see train/optimizer.h). It compiles
// one plan per batch shape on first use and reuses it, with the batch
// buffers, for every later step, so the steady-state loop allocates nothing.
//
//   ModelSpec model;
//   model.inputs = images;            // placeholder [?, 1, 28, 28]
//   model.labels = labels;            // placeholder [?]
//   model.loss = loss;                // f32 scalar, mean over the batch
//   model.accuracy = accuracy;        // optional f32 scalar
//   model.train_targets = train.targets();
//   NABLA_ASSIGN_OR_RETURN(auto trainer,
//                          Trainer::Create(session.get(), model, /*seed=*/42));
//
//   FitOptions options;
//   options.batch_size = 128;
//   options.epochs = 10;
//   options.validation = Dataset{test.images, test.labels};
//   options.callbacks = {EarlyStopping(),
//                        SaveCheckpointEachEpoch("ckpt/epoch-{epoch}.ckpt")};
//   NABLA_ASSIGN_OR_RETURN(History history,
//                          trainer->Fit({train.images, train.labels}, options));
//
// Reproducibility: shuffling draws only from the Trainer's std::mt19937_64,
// seeded at creation, and the kernels are deterministic for a fixed thread
// count. A Trainer restored from a checkpoint written at the end of an epoch
// (RestoreCheckpoint) continues exactly as the original run would have:
// same shuffles, same weights, bit for bit. Augmentation
// (FitOptions::augment set to Augmentation() of train/augment.h) keeps
// this: its images depend only on its seed, the epoch and the example.
//
// With several processes (SetSharding) each augments every example, as
// every process draws the same shuffle.

#ifndef NABLA_TRAIN_FIT_H_
#define NABLA_TRAIN_FIT_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/tensor.h"
#include "graph/session.h"
#include "train/augment.h"
#include "train/progress.h"

namespace nabla {

// Dataset is a set of examples: row i of `inputs` goes with row i of
// `labels`. Tensors share their buffers, so a Dataset is cheap to copy.
struct Dataset {
  Tensor inputs;  // [N, ...], fed to ModelSpec::inputs
  Tensor labels;  // [N, ...], fed to ModelSpec::labels
};

// ModelSpec names the values of a session's graph that a Trainer drives.
struct ModelSpec {
  NodeOutput inputs;  // the placeholder fed with a batch of inputs
  NodeOutput labels;  // the placeholder fed with their labels
  // An f32 scalar: the batch's mean loss.
  NodeOutput loss;
  // An optional f32 scalar averaged like the loss (node < 0: none). Any
  // per-batch mean metric works; History calls it accuracy.
  NodeOutput accuracy;
  // What one training step runs, e.g. TrainStep::targets().
  std::vector<NodeOutput> train_targets;
};

// Sharding splits every batch between the processes of a data-parallel job
// (dist::WorldSharding in dist/data_parallel.h makes one from the MPI
// world). Every process draws the same shuffle; process `rank` of `size`
// runs rows [rank * b / size, (rank + 1) * b / size) of each global batch
// of b rows, so b (and the epoch's last, partial batch) must split evenly.
// Evaluation runs a contiguous 1/size of the data on each process. `sum`
// adds values element-wise across the processes, so that epoch logs and
// evaluation results are the whole job's. The default is one process.
struct Sharding {
  int rank = 0;
  int size = 1;
  std::function<void(absl::Span<double>)> sum;
};

class Trainer;

// EpochCallback is called after each epoch (validation included) with the
// epoch's logs. Returning false stops training after this epoch; an error
// stops it and Fit returns the error.
using EpochCallback =
    std::function<absl::StatusOr<bool>(Trainer& trainer, const EpochLogs& logs)>;

// FitOptions are Keras's fit() arguments.
struct FitOptions {
  int64_t batch_size = 32;
  // Train until this many epochs are complete in total, counting epochs
  // restored from a checkpoint (Keras's epochs with initial_epoch); at
  // most kMaxCheckpointEpoch.
  int64_t epochs = 1;
  // Reshuffle the examples before each epoch.
  bool shuffle = true;
  // Evaluated after each epoch when given.
  std::optional<Dataset> validation;
  // 0: batch_size.
  int64_t validation_batch_size = 0;
  Verbosity verbosity = Verbosity::kAuto;
  std::FILE* out = stdout;
  std::vector<EpochCallback> callbacks;
  // augment, when set, gives each epoch its own inputs: epoch e trains on
  // what augment(e, train.inputs, &buffer) wrote (e.g. Augmentation() of
  // train/augment.h), with the labels unchanged and shuffled as usual.
  // Epoch e + 1's inputs are prepared on a background thread while epoch e
  // trains, into a second buffer; an epoch waits only for inputs not yet
  // ready (History::augment_wait_seconds says how long). Its errors end
  // Fit with that error. For a run resumed at an epoch boundary to match a
  // straight one, the inputs must depend only on the epoch and the source,
  // as Augmentation's do.
  EpochInputsFn augment;
};

// History holds one entry per epoch run by a Fit call. `accuracy` is empty
// without an accuracy output; the val_ vectors are empty without validation
// data.
struct History {
  std::vector<int64_t> epoch;  // 1-based epoch numbers
  std::vector<double> loss;
  std::vector<double> accuracy;
  std::vector<double> val_loss;
  std::vector<double> val_accuracy;
  std::vector<double> seconds;
  // With FitOptions::augment: how long each epoch waited for its inputs
  // (the first epoch of a Fit call waits for its whole preparation, later
  // ones only for what the previous epoch's training did not cover).
  std::vector<double> augment_wait_seconds;

  size_t size() const { return epoch.size(); }
};

// EvalResult is what Evaluate measured: means over every example.
struct EvalResult {
  double loss = 0;
  std::optional<double> accuracy;
  int64_t examples = 0;
};

// Trainer runs the training loop for one session; the session must outlive
// it.
class Trainer {
 public:
  // Create checks `model` against the session's graph. `seed` seeds the
  // shuffling generator.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(Session* session,
                                                         ModelSpec model,
                                                         uint64_t seed = 0);

  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Fit trains on `train` in batches of options.batch_size (the last batch
  // of an epoch holds the remainder) until options.epochs epochs are done.
  absl::StatusOr<History> Fit(const Dataset& train,
                              const FitOptions& options = {});

  // Evaluate returns the mean loss and accuracy over `data`, in order and
  // in batches, without training.
  absl::StatusOr<EvalResult> Evaluate(const Dataset& data,
                                      int64_t batch_size = 32);

  // SaveCheckpoint writes every variable, the epoch and step counts and the
  // shuffling generator's state (see train/checkpoint.h).
  absl::Status SaveCheckpoint(
      const std::string& path,
      const std::map<std::string, std::string>& metadata = {}) const;

  // RestoreCheckpoint loads a checkpoint into the session and this
  // trainer; on error neither changes. DataLoss for a step or epoch out of
  // range, besides ReadCheckpoint's errors.
  absl::Status RestoreCheckpoint(const std::string& path);

  // metadata() is the metadata of the checkpoint last restored (empty
  // before any), e.g. to compare the flags of the run it came from.
  const std::map<std::string, std::string>& metadata() const {
    return metadata_;
  }
  // SetSharding makes this trainer one of `sharding.size` processes that
  // train together. InvalidArgument for a rank out of range or several
  // processes without `sum`.
  absl::Status SetSharding(Sharding sharding);
  const Sharding& sharding() const { return sharding_; }

  // session() is the session trained; model() what it was told to drive.
  Session* session() const { return session_; }
  const ModelSpec& model() const { return model_; }
  // epoch() and step() count the epochs completed and training steps taken,
  // restored ones included.
  int64_t epoch() const { return epoch_; }
  int64_t step() const { return step_; }
  // rng_state() is the shuffling generator's state in std::mt19937_64's
  // text form.
  std::string rng_state() const;

 private:
  // A compiled plan with the batch buffers it is fed from.
  struct Compiled {
    Plan* plan = nullptr;
    Tensor inputs;
    Tensor labels;
  };

  Trainer(Session* session, ModelSpec model, uint64_t seed)
      : session_(session), model_(std::move(model)), rng_(seed) {}

  absl::Status CheckDataset(const Dataset& data, absl::string_view what) const;
  // The plan (training or evaluation) for batches of `rows` rows of `data`.
  absl::StatusOr<Compiled*> Prepare(bool train, const Dataset& data,
                                    int64_t rows);
  // Runs one batch whose rows are data[index[0..rows)]; adds the batch's
  // loss and accuracy, weighted by its size, to the sums.
  absl::Status RunBatch(Compiled& compiled, const Dataset& data,
                        const int64_t* index, double* loss_sum,
                        double* accuracy_sum);

  Session* session_;
  ModelSpec model_;
  Sharding sharding_;
  std::mt19937_64 rng_;
  int64_t epoch_ = 0;
  int64_t step_ = 0;
  std::map<std::string, std::string> metadata_;
  absl::flat_hash_map<std::string, std::unique_ptr<Compiled>> compiled_;
  std::vector<Tensor> fetches_;
  std::vector<int64_t> order_;     // the epoch's shuffled example order
  std::vector<int64_t> identity_;  // 0, 1, 2, ... for in-order batches
};

// EarlyStoppingOptions are Keras's EarlyStopping settings.
struct EarlyStoppingOptions {
  // "loss", "accuracy", "val_loss" or "val_accuracy"; accuracies are to
  // rise, losses to fall.
  std::string monitor = "val_loss";
  // The least change that counts as an improvement.
  double min_delta = 0;
  // Epochs in a row without improvement before stopping (at least 1).
  int patience = 0;
};

// EarlyStopping stops training once the monitored value stops improving.
// Each callback keeps its own record of the best value: make a new one for
// each Fit call.
EpochCallback EarlyStopping(EarlyStoppingOptions options = {});

// SaveCheckpointEachEpoch saves a checkpoint after every `every` epochs to
// `path`, where "{epoch}" is replaced by the epoch number, with `metadata`
// (for instance the flags of the run) in each.
EpochCallback SaveCheckpointEachEpoch(
    std::string path, int64_t every = 1,
    std::map<std::string, std::string> metadata = {});

// TerminateOnNaN stops training when an epoch's loss is not finite.
EpochCallback TerminateOnNaN();

}  // namespace nabla

#endif  // NABLA_TRAIN_FIT_H_
