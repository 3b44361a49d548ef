#include "train/fit.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <new>
#include <numeric>
#include <sstream>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/status.h"
#include "train/checkpoint.h"

namespace nabla {
namespace {

// A uniform draw from [0, n), n > 0. Written out rather than taken from
// std::uniform_int_distribution, whose algorithm differs between standard
// libraries, so that a seed means the same shuffle everywhere.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  // Rejecting draws below 2^64 mod n leaves a range whose size is a
  // multiple of n.
  const uint64_t threshold = (0 - n) % n;
  uint64_t x;
  do {
    x = rng();
  } while (x < threshold);
  return x % n;
}

// Fisher-Yates.
void Shuffle(std::vector<int64_t>& order, std::mt19937_64& rng) {
  for (size_t i = order.size(); i > 1; --i) {
    size_t j = UniformBelow(rng, i);
    std::swap(order[i - 1], order[j]);
  }
}

// Copies rows index[0..rows) of `src` into `dst`.
void GatherRows(const Tensor& src, const int64_t* index, int64_t rows,
                Tensor& dst) {
  const size_t row_bytes = src.nbytes() / src.shape()[0];
  const char* in = static_cast<const char*>(src.raw_data());
  char* out = static_cast<char*>(dst.raw_data());
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out + r * row_bytes, in + index[r] * row_bytes, row_bytes);
  }
}

absl::Status CheckScalar(const Graph& graph, NodeOutput ref,
                         absl::string_view what) {
  if (ref.node < 0 || ref.node >= graph.num_nodes() || ref.index < 0 ||
      ref.index >= static_cast<int>(graph.node(ref.node).outputs.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ", what, " is not a value of the graph"));
  }
  const TensorSpec& spec = graph.spec(ref);
  if (spec.dtype != DType::kF32 || spec.shape.rank() != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ", what, " '", graph.OutputName(ref),
                     "' must be an f32 scalar, not ", spec.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckPlaceholder(const Graph& graph, NodeOutput ref,
                              absl::string_view what) {
  if (ref.node < 0 || ref.node >= graph.num_nodes() || ref.index != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ", what, " is not a value of the graph"));
  }
  const Node& node = graph.node(ref.node);
  if (node.op() != "Placeholder") {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ", what, " '", node.name,
                     "' must be a Placeholder, not a ", node.op()));
  }
  if (node.outputs[0].shape.rank() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the model's ", what, " '", node.name,
                     "' must have a batch dimension"));
  }
  return absl::OkStatus();
}

bool HasAccuracy(const ModelSpec& model) { return model.accuracy.node >= 0; }

// EpochInputs prepares the epochs' inputs on a background thread, double
// buffered: while the loop trains on one buffer, the thread fills the
// other.
class EpochInputs {
 public:
  // Create allocates the two buffers, of `source`'s dtype and shape.
  static absl::StatusOr<std::unique_ptr<EpochInputs>> Create(
      EpochInputsFn fn, const Tensor& source) {
    std::unique_ptr<EpochInputs> inputs(new EpochInputs(std::move(fn), source));
    try {
      for (Tensor& buffer : inputs->buffers_) {
        buffer = Tensor(source.dtype(), source.shape());
      }
    } catch (const std::bad_alloc& e) {
      return OutOfMemoryStatus("allocating the augmented inputs", e);
    }
    return inputs;
  }

  EpochInputs(const EpochInputs&) = delete;
  EpochInputs& operator=(const EpochInputs&) = delete;
  // Waits for a preparation still running.
  ~EpochInputs() { Join(); }

  // Start begins preparing `epoch` into the buffer the last Take did not
  // return.
  absl::Status Start(int64_t epoch) {
    Join();
    epoch_ = epoch;
    status_ = absl::OkStatus();
    // The function gets a handle of its own, so that one replacing it
    // rather than writing into it is caught.
    handle_ = buffers_[next_];
    Tensor* buffer = &handle_;
    try {
      thread_ = std::thread([this, epoch, buffer] {
        try {
          status_ = fn_(epoch, source_, buffer);
        } catch (const std::bad_alloc& e) {
          status_ = OutOfMemoryStatus("augmenting the inputs", e);
        } catch (const std::exception& e) {
          status_ = absl::InternalError(e.what());
        } catch (...) {
          status_ = absl::InternalError("an unknown exception");
        }
      });
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot start a thread to prepare the inputs of epoch ", epoch,
          ": ", e.what()));
    }
    return absl::OkStatus();
  }

  // Take waits for the preparation Start began, adds the seconds it
  // waited to *waited and returns its inputs.
  absl::StatusOr<Tensor> Take(double* waited) {
    const auto start = std::chrono::steady_clock::now();
    Join();
    *waited += std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - start)
                   .count();
    if (!status_.ok()) {
      return absl::Status(status_.code(),
                          absl::StrCat("preparing the inputs of epoch ",
                                       epoch_, ": ", status_.message()));
    }
    const Tensor& inputs = buffers_[next_];
    if (!handle_.SharesBufferWith(inputs) || handle_.dtype() != inputs.dtype() ||
        handle_.shape() != inputs.shape()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "preparing the inputs of epoch ", epoch_, ": the function replaced "
          "its output buffer ", inputs.DebugString(), " by ",
          handle_.DebugString(), " instead of writing into it"));
    }
    next_ ^= 1;
    return inputs;
  }

 private:
  EpochInputs(EpochInputsFn fn, Tensor source)
      : fn_(std::move(fn)), source_(std::move(source)) {}

  void Join() {
    if (thread_.joinable()) thread_.join();
  }

  EpochInputsFn fn_;
  Tensor source_;
  Tensor buffers_[2];
  Tensor handle_;  // what the function writes to: buffers_[next_]
  int next_ = 0;  // the buffer being (or next to be) prepared
  int64_t epoch_ = 0;
  absl::Status status_;  // written by the thread, read after Join
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(Session* session,
                                                         ModelSpec model,
                                                         uint64_t seed) {
  if (session == nullptr) {
    return absl::InvalidArgumentError("Trainer needs a session");
  }
  const Graph& graph = session->graph();
  NABLA_RETURN_IF_ERROR(CheckPlaceholder(graph, model.inputs, "inputs"));
  NABLA_RETURN_IF_ERROR(CheckPlaceholder(graph, model.labels, "labels"));
  if (model.inputs.node == model.labels.node) {
    return absl::InvalidArgumentError(
        "the model's inputs and labels are the same placeholder");
  }
  NABLA_RETURN_IF_ERROR(CheckScalar(graph, model.loss, "loss"));
  if (HasAccuracy(model)) {
    NABLA_RETURN_IF_ERROR(CheckScalar(graph, model.accuracy, "accuracy"));
  }
  for (NodeOutput target : model.train_targets) {
    if (target.node < 0 || target.node >= graph.num_nodes()) {
      return absl::InvalidArgumentError(
          "a train target is not a node of the session's graph");
    }
  }
  return std::unique_ptr<Trainer>(
      new Trainer(session, std::move(model), seed));
}

absl::Status Trainer::CheckDataset(const Dataset& data,
                                   absl::string_view what) const {
  const Graph& graph = session_->graph();
  for (auto [tensor, ref, name] :
       {std::make_tuple(&data.inputs, model_.inputs, "inputs"),
        std::make_tuple(&data.labels, model_.labels, "labels")}) {
    if (tensor->empty() || tensor->shape().rank() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", what, " ", name, " must be a tensor with a batch dimension"));
    }
    const TensorSpec& spec = graph.spec(ref);
    if (tensor->dtype() != spec.dtype ||
        !tensor->shape().IsCompatibleWith(spec.shape.WithDim(0, kUnknownDim))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", what, " ", name, " are ", tensor->DebugString(),
          " but placeholder '", graph.node(ref.node).name, "' is ",
          spec.ToString()));
    }
  }
  if (data.inputs.shape()[0] != data.labels.shape()[0]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", what, " have ", data.inputs.shape()[0], " inputs but ",
        data.labels.shape()[0], " labels"));
  }
  if (data.inputs.shape()[0] == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " have no examples"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Trainer::Compiled*> Trainer::Prepare(bool train,
                                                    const Dataset& data,
                                                    int64_t rows) {
  Shape inputs = data.inputs.shape().WithDim(0, rows);
  Shape labels = data.labels.shape().WithDim(0, rows);
  std::string key =
      absl::StrCat(train ? "train" : "eval", inputs.ToString(),
                   labels.ToString());
  std::unique_ptr<Compiled>& compiled = compiled_[key];
  if (compiled != nullptr) return compiled.get();

  std::vector<NodeOutput> fetches = {model_.loss};
  if (HasAccuracy(model_)) fetches.push_back(model_.accuracy);
  std::vector<NodeOutput> targets;
  if (train) targets = model_.train_targets;
  absl::StatusOr<Plan*> plan = session_->Compile(
      {FeedSpec{model_.inputs, inputs}, FeedSpec{model_.labels, labels}},
      fetches, targets,
      CompileOptions{train ? RunMode::kTraining : RunMode::kInference});
  if (!plan.ok()) {
    compiled_.erase(key);
    return plan.status();
  }
  compiled = std::make_unique<Compiled>();
  compiled->plan = *plan;
  compiled->inputs = Tensor(data.inputs.dtype(), inputs);
  compiled->labels = Tensor(data.labels.dtype(), labels);
  return compiled.get();
}

absl::Status Trainer::RunBatch(Compiled& compiled, const Dataset& data,
                               const int64_t* index, double* loss_sum,
                               double* accuracy_sum) {
  const int64_t rows = compiled.inputs.shape()[0];
  GatherRows(data.inputs, index, rows, compiled.inputs);
  GatherRows(data.labels, index, rows, compiled.labels);
  NABLA_RETURN_IF_ERROR(
      compiled.plan->Run({compiled.inputs, compiled.labels}, &fetches_));
  *loss_sum += static_cast<double>(fetches_[0].data<float>()[0]) * rows;
  if (HasAccuracy(model_)) {
    *accuracy_sum += static_cast<double>(fetches_[1].data<float>()[0]) * rows;
  }
  return absl::OkStatus();
}

absl::StatusOr<History> Trainer::Fit(const Dataset& train,
                                     const FitOptions& options) {
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch_size must be positive, got ", options.batch_size));
  }
  if (options.epochs < 0 || options.epochs > kMaxCheckpointEpoch) {
    return absl::InvalidArgumentError(
        absl::StrCat("epochs must lie in [0, ", kMaxCheckpointEpoch,
                     "], got ", options.epochs));
  }
  if (options.validation_batch_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("validation_batch_size must not be negative, got ",
                     options.validation_batch_size));
  }
  if (model_.train_targets.empty()) {
    return absl::FailedPreconditionError(
        "the model has no train targets, so Fit cannot train it");
  }
  NABLA_RETURN_IF_ERROR(CheckDataset(train, "training data"));
  if (options.validation) {
    NABLA_RETURN_IF_ERROR(
        CheckDataset(*options.validation, "validation data"));
  }

  // The first epoch's inputs are prepared while the plans compile.
  std::unique_ptr<EpochInputs> epoch_inputs;
  if (options.augment && epoch_ + 1 <= options.epochs) {
    NABLA_ASSIGN_OR_RETURN(epoch_inputs,
                           EpochInputs::Create(options.augment, train.inputs));
    NABLA_RETURN_IF_ERROR(epoch_inputs->Start(epoch_ + 1));
  }

  // Everything a step needs is prepared here, before the first step.
  const int64_t n = train.inputs.shape()[0];
  const int64_t batch = std::min(options.batch_size, n);
  const int64_t full_batches = n / batch;
  const int64_t remainder = n % batch;
  const int64_t steps = full_batches + (remainder > 0 ? 1 : 0);
  // With several processes each runs its share of every (global) batch.
  const int64_t procs = sharding_.size;
  if (batch % procs != 0 || remainder % procs != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a batch of ", batch, " (and the epoch's last batch of ", remainder,
        " of ", n, " examples) must split evenly between ", procs,
        " processes; change the batch size or the number of examples"));
  }
  NABLA_ASSIGN_OR_RETURN(Compiled * full, Prepare(true, train, batch / procs));
  Compiled* partial = nullptr;
  if (remainder > 0) {
    NABLA_ASSIGN_OR_RETURN(partial, Prepare(true, train, remainder / procs));
  }
  order_.resize(n);

  ProgressReporter progress(options.out, options.verbosity);
  History history;
  for (int64_t epoch = epoch_ + 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    std::iota(order_.begin(), order_.end(), int64_t{0});
    if (options.shuffle) Shuffle(order_, rng_);
    Dataset epoch_data = train;
    double waited = 0;
    if (epoch_inputs != nullptr) {
      NABLA_ASSIGN_OR_RETURN(epoch_data.inputs, epoch_inputs->Take(&waited));
      if (epoch < options.epochs) {
        NABLA_RETURN_IF_ERROR(epoch_inputs->Start(epoch + 1));
      }
    }
    progress.BeginEpoch(epoch, options.epochs, steps);

    double loss_sum = 0, accuracy_sum = 0;
    for (int64_t s = 0; s < steps; ++s) {
      Compiled& compiled = s < full_batches ? *full : *partial;
      const int64_t shard = compiled.inputs.shape()[0];
      NABLA_RETURN_IF_ERROR(RunBatch(compiled, epoch_data,
                                     &order_[s * batch + sharding_.rank * shard],
                                     &loss_sum, &accuracy_sum));
      ++step_;
      const int64_t seen = std::min(n, (s + 1) * batch);
      // The running means are this process's; the epoch's logs are the
      // whole job's.
      progress.Update(s + 1, seen, loss_sum / (seen / procs),
                      HasAccuracy(model_)
                          ? std::optional<double>(accuracy_sum / (seen / procs))
                          : std::nullopt);
    }
    if (procs > 1) {
      double sums[2] = {loss_sum, accuracy_sum};
      sharding_.sum(absl::MakeSpan(sums));
      loss_sum = sums[0];
      accuracy_sum = sums[1];
    }

    EpochLogs logs;
    logs.epoch = epoch;
    logs.epochs = options.epochs;
    logs.steps = steps;
    logs.loss = loss_sum / n;
    if (HasAccuracy(model_)) logs.accuracy = accuracy_sum / n;
    if (options.validation) {
      int64_t val_batch = options.validation_batch_size > 0
                              ? options.validation_batch_size
                              : options.batch_size;
      NABLA_ASSIGN_OR_RETURN(EvalResult val,
                             Evaluate(*options.validation, val_batch));
      logs.val_loss = val.loss;
      logs.val_accuracy = val.accuracy;
    }
    logs.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start)
                       .count();
    epoch_ = epoch;

    history.epoch.push_back(epoch);
    history.loss.push_back(logs.loss);
    if (logs.accuracy) history.accuracy.push_back(*logs.accuracy);
    if (logs.val_loss) history.val_loss.push_back(*logs.val_loss);
    if (logs.val_accuracy) history.val_accuracy.push_back(*logs.val_accuracy);
    history.seconds.push_back(logs.seconds);
    if (epoch_inputs != nullptr) history.augment_wait_seconds.push_back(waited);
    progress.EndEpoch(logs);

    bool keep_going = true;
    for (const EpochCallback& callback : options.callbacks) {
      NABLA_ASSIGN_OR_RETURN(bool go_on, callback(*this, logs));
      keep_going &= go_on;
    }
    if (!keep_going) break;
  }
  return history;
}

absl::StatusOr<EvalResult> Trainer::Evaluate(const Dataset& data,
                                             int64_t batch_size) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch_size must be positive, got ", batch_size));
  }
  NABLA_RETURN_IF_ERROR(CheckDataset(data, "evaluation data"));
  const int64_t total = data.inputs.shape()[0];
  // This process's contiguous share of the examples.
  const int64_t first = total * sharding_.rank / sharding_.size;
  const int64_t n = total * (sharding_.rank + 1) / sharding_.size - first;
  double loss_sum = 0, accuracy_sum = 0;
  if (n > 0) {
    const int64_t batch = std::min(batch_size, n);
    const int64_t full_batches = n / batch;
    const int64_t remainder = n % batch;
    NABLA_ASSIGN_OR_RETURN(Compiled * full, Prepare(false, data, batch));
    Compiled* partial = nullptr;
    if (remainder > 0) {
      NABLA_ASSIGN_OR_RETURN(partial, Prepare(false, data, remainder));
    }
    // In order: batches read their row indices from an identity array.
    if (static_cast<int64_t>(identity_.size()) < total) {
      identity_.resize(total);
      std::iota(identity_.begin(), identity_.end(), int64_t{0});
    }
    for (int64_t s = 0; s * batch < n; ++s) {
      Compiled& compiled = s < full_batches ? *full : *partial;
      NABLA_RETURN_IF_ERROR(RunBatch(compiled, data,
                                     &identity_[first + s * batch], &loss_sum,
                                     &accuracy_sum));
    }
  }
  if (sharding_.size > 1) {
    double sums[2] = {loss_sum, accuracy_sum};
    sharding_.sum(absl::MakeSpan(sums));
    loss_sum = sums[0];
    accuracy_sum = sums[1];
  }
  EvalResult result;
  result.examples = total;
  result.loss = loss_sum / total;
  if (HasAccuracy(model_)) result.accuracy = accuracy_sum / total;
  return result;
}

absl::Status Trainer::SetSharding(Sharding sharding) {
  if (sharding.size < 1 || sharding.rank < 0 || sharding.rank >= sharding.size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sharding: rank ", sharding.rank, " of ", sharding.size,
        " processes is out of range"));
  }
  if (sharding.size > 1 && !sharding.sum) {
    return absl::InvalidArgumentError(
        "sharding over several processes needs a sum across them");
  }
  sharding_ = std::move(sharding);
  return absl::OkStatus();
}

std::string Trainer::rng_state() const {
  std::ostringstream out;
  out << rng_;
  return out.str();
}

absl::Status Trainer::SaveCheckpoint(
    const std::string& path,
    const std::map<std::string, std::string>& metadata) const {
  CheckpointInfo info;
  info.step = step_;
  info.epoch = epoch_;
  info.rng_state = rng_state();
  info.metadata = metadata;
  return nabla::SaveCheckpoint(*session_, info, path);
}

absl::Status Trainer::RestoreCheckpoint(const std::string& path) {
  NABLA_ASSIGN_OR_RETURN(VerifiedCheckpoint checkpoint,
                         ReadCheckpoint(path, *session_));
  const CheckpointInfo& info = checkpoint.info;
  // ReadCheckpoint bounds the counts; checked again here because the loop
  // in Fit counts from them.
  if (info.step < 0 || info.step > kMaxCheckpointStep || info.epoch < 0 ||
      info.epoch > kMaxCheckpointEpoch) {
    return absl::DataLossError(
        absl::StrCat("checkpoint '", path, "' has step ", info.step,
                     " and epoch ", info.epoch, ", out of range"));
  }
  // A checkpoint saved without a loop's state keeps the current generator.
  std::mt19937_64 rng = rng_;
  if (!info.rng_state.empty()) {
    std::istringstream in(info.rng_state);
    in >> rng;
    if (in.fail() || !(in >> std::ws).eof()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "checkpoint '", path,
          "' has a random generator state that does not parse"));
    }
  }
  NABLA_RETURN_IF_ERROR(RestoreVariables(checkpoint, session_));
  rng_ = rng;
  epoch_ = info.epoch;
  step_ = info.step;
  metadata_ = info.metadata;
  return absl::OkStatus();
}

EpochCallback EarlyStopping(EarlyStoppingOptions options) {
  struct State {
    bool has_best = false;
    double best = 0;
    int wait = 0;
  };
  auto state = std::make_shared<State>();
  return [options, state](Trainer&,
                          const EpochLogs& logs) -> absl::StatusOr<bool> {
    std::optional<double> value;
    bool maximize = false;
    if (options.monitor == "loss") {
      value = logs.loss;
    } else if (options.monitor == "accuracy") {
      value = logs.accuracy;
      maximize = true;
    } else if (options.monitor == "val_loss") {
      value = logs.val_loss;
    } else if (options.monitor == "val_accuracy") {
      value = logs.val_accuracy;
      maximize = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "EarlyStopping cannot monitor '", options.monitor,
          "'; use loss, accuracy, val_loss or val_accuracy"));
    }
    if (!value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "EarlyStopping monitors '", options.monitor,
          "', which this fit does not compute"));
    }
    bool improved =
        !state->has_best ||
        (maximize ? *value > state->best + options.min_delta
                  : *value < state->best - options.min_delta);
    if (improved) {
      state->has_best = true;
      state->best = *value;
      state->wait = 0;
      return true;
    }
    ++state->wait;
    return state->wait < std::max(options.patience, 1);
  };
}

EpochCallback SaveCheckpointEachEpoch(
    std::string path, int64_t every,
    std::map<std::string, std::string> metadata) {
  return [path = std::move(path), every, metadata = std::move(metadata)](
             Trainer& trainer, const EpochLogs& logs) -> absl::StatusOr<bool> {
    if (every > 0 && logs.epoch % every == 0) {
      std::string file = absl::StrReplaceAll(
          path, {{"{epoch}", absl::StrCat(logs.epoch)}});
      NABLA_RETURN_IF_ERROR(trainer.SaveCheckpoint(file, metadata));
    }
    return true;
  };
}

EpochCallback TerminateOnNaN() {
  return [](Trainer&, const EpochLogs& logs) -> absl::StatusOr<bool> {
    return std::isfinite(logs.loss);
  };
}

}  // namespace nabla
