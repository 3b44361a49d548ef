// Progress reporting for the training loop: a Keras-style progress bar on a
// terminal, plain per-epoch lines otherwise (logs, pipes, CI).
//
//   ProgressReporter progress(stdout, Verbosity::kAuto);
//   progress.BeginEpoch(/*epoch=*/1, /*epochs=*/10, /*steps=*/469);
//   ... after each batch: progress.Update(step, samples, mean_loss, mean_acc);
//   progress.EndEpoch(logs);
//
// On a terminal this draws, rewriting one line at most ten times a second:
//
//   Epoch 1/10
//   120/469 [=======>.......................] - ETA: 3s - 2890 samples/s - loss: 0.4123
//
// and finishes the epoch with its time and metrics. Elsewhere each epoch is
// one line:
//
//   Epoch 1/10 - 469 steps - 4.21s - loss: 0.3012 - accuracy: 0.9123

#ifndef NABLA_TRAIN_PROGRESS_H_
#define NABLA_TRAIN_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace nabla {

// Verbosity picks how the training loop reports progress.
enum class Verbosity {
  kSilent,       // nothing
  kAuto,         // a progress bar if the output is a terminal, else lines
  kProgressBar,  // a progress bar regardless
  kEpochLines,   // one line per epoch
};

// EpochLogs are the results of one epoch, as callbacks and History see them.
struct EpochLogs {
  int64_t epoch = 0;   // 1-based, counting epochs restored from a checkpoint
  int64_t epochs = 0;  // the epoch the fit runs to
  int64_t steps = 0;   // batches in the epoch
  double loss = 0;     // mean over the epoch's examples
  std::optional<double> accuracy;
  std::optional<double> val_loss;
  std::optional<double> val_accuracy;
  double seconds = 0;  // training and validation time
};

// FormatLogs renders an epoch's metrics as " - loss: 0.3012 - accuracy: ...".
std::string FormatLogs(const EpochLogs& logs);

// ProgressReporter writes progress to a stdio stream.
class ProgressReporter {
 public:
  ProgressReporter(std::FILE* out, Verbosity verbosity);

  // bar() says whether a progress bar is drawn (kAuto resolved).
  bool bar() const { return mode_ == Verbosity::kProgressBar; }

  // BeginEpoch starts epoch `epoch` of `epochs`, which has `steps` batches.
  void BeginEpoch(int64_t epoch, int64_t epochs, int64_t steps);
  // Update reports `step` batches (1-based) and `samples` examples done,
  // with the running means of the epoch's loss and accuracy.
  void Update(int64_t step, int64_t samples, double loss,
              std::optional<double> accuracy);
  // EndEpoch reports the finished epoch's time and metrics.
  void EndEpoch(const EpochLogs& logs);

 private:
  using Clock = std::chrono::steady_clock;

  void DrawBar(int64_t step, int64_t samples, double loss,
               std::optional<double> accuracy);

  std::FILE* out_;
  Verbosity mode_;
  int64_t epoch_ = 0;
  int64_t epochs_ = 0;
  int64_t steps_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace nabla

#endif  // NABLA_TRAIN_PROGRESS_H_
