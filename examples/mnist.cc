// Trains a convolutional network on MNIST, from graph ops: the lecture's
// (the default), or with --model=fast or --model=best one of the two modern
// models of examples/models.h, each with its own recipe (epochs, batch,
// schedule, augmentation; flags given on the command line override it).
//
//   bazel run -c opt //examples:mnist                       # 10 epochs, ~99%
//   bazel run -c opt //examples:mnist -- --model=fast       # 99% in seconds
//   bazel run -c opt //examples:mnist -- --model=best --save_dir=/tmp/best
//   bazel run -c opt //examples:mnist -- --epochs=1 --train_limit=10000
//   bazel run -c opt //examples:mnist -- --save_dir=/tmp/mnist
//   bazel run -c opt //examples:mnist -- --resume=/tmp/mnist --epochs=12
//   bazel run -c opt //examples:mnist -- --evaluate_only --resume=/tmp/mnist
//   bazel run -c opt //examples:mnist -- --data_dir=/usr/share/datasets/fashion-mnist
//
// With --save_dir (created if missing) the graph (model, gradients and
// optimizer: the whole training step) is written as a text GraphDef,
// model.pbtxt, and the weights and optimizer state as a checkpoint after
// every epoch, with the run's flags, thread count, data folder and seed in
// its metadata. --resume loads both and continues to --epochs; the result
// is the same, bit for bit, as an uninterrupted run with the same seed and
// thread count. The optimizer and learning rate come from the saved graph:
// giving --optimizer or --learning_rate that differ from the saved run's is
// an error, and a different thread count, batch size or data folder is
// allowed with a warning that bit-exactness is then not promised.
//
// Data-parallel on several processes (README.md, "Training on several
// processes (MPI)"): each of N ranks runs 1/N of every --batch_size batch,
// gradients are averaged over MPI, and only rank 0 prints and saves.
//
//   mpirun -np 2 bazel-bin/examples/mnist --distributed
//   mpirun --hostfile hosts -np 8 bazel-bin/examples/mnist --distributed

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "core/dnnl_context.h"
#include "core/file.h"
#include "core/status.h"
#include "dist/data_parallel.h"
#include "dist/distributed_optimizer.h"
#include "dist/world.h"
#include "examples/models.h"
#include "graph/graph_def.h"
#include "graph/session.h"
#include "train/fit.h"
#include "train/idx.h"
#include "train/optimizer.h"
#include "train/schedule.h"

ABSL_FLAG(std::string, data_dir, "data/mnist",
          "Folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].");
ABSL_FLAG(std::string, model, "lecture",
          "lecture (the lecture's network, as Keras trains it), fast, best, "
          "best_strided or best_gap (examples/models.h); each brings its "
          "recipe, the defaults of --epochs, --batch_size and "
          "--learning_rate.");
ABSL_FLAG(int, epochs, 10,
          "Train until this many epochs are complete (default: the "
          "model's recipe; 10 for lecture).");
ABSL_FLAG(int, batch_size, 128,
          "Examples per training step (default: the model's recipe).");
ABSL_FLAG(double, learning_rate, 0.001,
          "The optimizer's learning rate, the peak of a one-cycle schedule "
          "(default: the model's recipe).");
ABSL_FLAG(int, schedule_epochs, 0,
          "A one-cycle schedule (--model=fast, best) spans this many epochs "
          "(0: --epochs), so that a run can be trained in parts: --epochs=1 "
          "--schedule_epochs=3, then --resume with --epochs=3.");
ABSL_FLAG(std::string, optimizer, "adam", "adam, sgd, momentum or nesterov.");
ABSL_FLAG(int, seed, 42, "Seeds the initial weights and the shuffling.");
ABSL_FLAG(int, threads, 0,
          "Threads for oneDNN and nabla (0: NABLA_NUM_THREADS, "
          "OMP_NUM_THREADS, or every core).");
ABSL_FLAG(int, train_limit, 0, "Train on the first N images only (0: all).");
ABSL_FLAG(int, test_limit, 0,
          "Validate and test on the first N test images only (0: all).");
ABSL_FLAG(std::string, save_dir, "",
          "Write model.pbtxt and a checkpoint after every epoch here.");
ABSL_FLAG(std::string, resume, "",
          "Continue (or, with --evaluate_only, evaluate) the run saved in "
          "this folder.");
ABSL_FLAG(bool, evaluate_only, false,
          "Evaluate the model saved in --resume on the test set; no training.");
ABSL_FLAG(std::string, metrics_out, "",
          "Write the per-epoch history and the test accuracy here as JSON.");
ABSL_FLAG(bool, distributed, false,
          "Train data-parallel over MPI, one rank per process started by "
          "mpirun; --batch_size is the global batch, split evenly.");
ABSL_FLAG(int64_t, bucket_bytes, nabla::dist::kDefaultBucketBytes,
          "--distributed: gradients are reduced in buckets of about this "
          "many bytes, each as soon as the backward pass completes it.");
ABSL_FLAG(bool, overlap, true,
          "--distributed: reduce gradients while the backward pass goes on "
          "(false: wait for each bucket at once, to measure the overlap).");
ABSL_FLAG(bool, fixed_order, false,
          "--distributed: sum gradients in rank order, for results that are "
          "the same bit for bit from run to run.");
ABSL_FLAG(double, collective_timeout, 60,
          "--distributed: seconds any one collective may take before the "
          "job is ended (a rank died, hangs, or runs something else).");

namespace nabla {
namespace {

// The lecture's model scales u8 pixels itself.
const IdxOptions kPixels = [] {
  IdxOptions options;
  options.images_as_float = false;
  return options;
}();

constexpr char kGraphFile[] = "model.pbtxt";
constexpr char kCheckpointFile[] = "checkpoint.ckpt";

std::string DataDir() {
  std::string dir = absl::GetFlag(FLAGS_data_dir);
  // The default names the copy shipped beside the binary.
  if (dir == "data/mnist") return dir;
  return UserPath(dir);
}

// Settings: what this run trains, and how: the model's recipe with the
// flags given on the command line in place of its values.
struct Settings {
  ModelKind model = ModelKind::kLecture;
  TrainingRecipe recipe;
};

absl::StatusOr<std::unique_ptr<Optimizer>> MakeOptimizer(
    const Settings& settings, int64_t steps_per_epoch) {
  const TrainingRecipe& recipe = settings.recipe;
  float lr = static_cast<float>(recipe.learning_rate);
  const std::string& name = absl::GetFlag(FLAGS_optimizer);
  LearningRateSchedule schedule = LearningRateSchedule::Constant();
  if (recipe.schedule == LearningRateShape::kOneCycle) {
    const int64_t epochs = absl::GetFlag(FLAGS_schedule_epochs) > 0
                               ? absl::GetFlag(FLAGS_schedule_epochs)
                               : recipe.epochs;
    schedule = LearningRateSchedule::OneCycle(epochs * steps_per_epoch,
                                              recipe.warmup_fraction);
    NABLA_RETURN_IF_ERROR(Annotate(schedule.Validate(), "--epochs"));
  }
  if (name == "adam") {
    AdamOptions options;
    options.learning_rate = lr;
    options.weight_decay = recipe.weight_decay;
    options.decay_filter = DecayOnlyMatrices();
    auto adam = std::make_unique<Adam>(options);
    adam->set_learning_rate_schedule(schedule);
    return std::unique_ptr<Optimizer>(std::move(adam));
  }
  if (!schedule.is_constant()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--model=", ModelKindName(settings.model),
        " trains with Adam and a one-cycle schedule; --optimizer=", name,
        " is for --model=lecture"));
  }
  if (name == "sgd") return std::unique_ptr<Optimizer>(std::make_unique<Sgd>(lr));
  if (name == "momentum" || name == "nesterov") {
    MomentumOptions options;
    options.learning_rate = lr;
    options.nesterov = name == "nesterov";
    return std::unique_ptr<Optimizer>(std::make_unique<Momentum>(options));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--optimizer must be adam, sgd, momentum or nesterov, not '", name, "'"));
}

// The first `limit` examples (all for 0).
Dataset Head(const MnistData& data, int64_t limit) {
  int64_t n = data.images.shape()[0];
  if (limit <= 0 || limit >= n) return Dataset{data.images, data.labels};
  Shape image_shape = data.images.shape().WithDim(0, limit);
  Tensor images(data.images.dtype(), image_shape);
  std::memcpy(images.raw_data(), data.images.raw_data(), images.nbytes());
  Tensor labels(DType::kI32, Shape({limit}));
  std::memcpy(labels.raw_data(), data.labels.raw_data(), labels.nbytes());
  return Dataset{images, labels};
}

double PeakRssMb() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

absl::Status WriteMetrics(const std::string& path, const History& history,
                          const EvalResult& test, double seconds) {
  std::string json = "{\n  \"epochs\": [";
  for (size_t i = 0; i < history.size(); ++i) {
    absl::StrAppendFormat(
        &json,
        "%s\n    {\"epoch\": %d, \"loss\": %.6f, \"accuracy\": %.6f, "
        "\"val_loss\": %.6f, \"val_accuracy\": %.6f, \"seconds\": %.3f}",
        i ? "," : "", history.epoch[i], history.loss[i],
        history.accuracy.empty() ? 0.0 : history.accuracy[i],
        history.val_loss.empty() ? 0.0 : history.val_loss[i],
        history.val_accuracy.empty() ? 0.0 : history.val_accuracy[i],
        history.seconds[i]);
  }
  absl::StrAppendFormat(&json,
                        "\n  ],\n  \"test_loss\": %.6f,\n  \"test_accuracy\": "
                        "%.6f,\n  \"seconds\": %.3f,\n  \"threads\": %d,\n  "
                        "\"peak_rss_mb\": %.1f\n}\n",
                        test.loss, test.accuracy.value_or(0), seconds,
                        NumThreads(), PeakRssMb());
  return WriteFileAtomically(path, json);
}

// The checkpoint metadata recording how this run was started.
std::map<std::string, std::string> RunMetadata(const Settings& settings,
                                               const std::string& data_dir) {
  return {
      {"model", settings.model == ModelKind::kLecture
                    ? "lecture_cnn"
                    : ModelKindName(settings.model)},
      {"optimizer", absl::GetFlag(FLAGS_optimizer)},
      {"learning_rate", absl::StrCat(settings.recipe.learning_rate)},
      {"batch_size", absl::StrCat(settings.recipe.batch_size)},
      {"seed", absl::StrCat(absl::GetFlag(FLAGS_seed))},
      {"threads", absl::StrCat(NumThreads())},
      {"data_dir", data_dir},
      {"train_limit", absl::StrCat(absl::GetFlag(FLAGS_train_limit))},
  };
}

// The names of the flags on the command line, as main saw them.
std::set<std::string>& FlagsGiven() {
  static auto* given = new std::set<std::string>;
  return *given;
}

// Records "--name", "--name=value" and "-name..." arguments, before
// absl::ParseCommandLine consumes them.
void RecordFlagsGiven(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    FlagsGiven().insert(std::string(arg.substr(0, arg.find('='))));
  }
}

template <typename T>
bool GivenOnCommandLine(const absl::Flag<T>& flag) {
  return FlagsGiven().count(
             std::string(absl::GetFlagReflectionHandle(flag).Name())) > 0;
}

// ReadSettings is --model's recipe with the flags given in place of its
// values. `saved_model` is the "model" recorded by a run being resumed
// ("" for a new run), which --model, if given, must match.
absl::StatusOr<Settings> ReadSettings(absl::string_view saved_model) {
  Settings settings;
  std::string name = absl::GetFlag(FLAGS_model);
  if (saved_model == "lecture_cnn") saved_model = "lecture";
  if (!saved_model.empty()) {
    if (GivenOnCommandLine(FLAGS_model) && name != saved_model) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--model=", name, " differs from the ", saved_model,
          " model of the run being resumed; omit the flag to continue it"));
    }
    name = std::string(saved_model);
  }
  NABLA_ASSIGN_OR_RETURN(settings.model, ParseModelKind(name));
  settings.recipe = RecipeFor(settings.model);
  TrainingRecipe& recipe = settings.recipe;
  if (GivenOnCommandLine(FLAGS_epochs)) recipe.epochs = absl::GetFlag(FLAGS_epochs);
  if (GivenOnCommandLine(FLAGS_batch_size)) {
    recipe.batch_size = absl::GetFlag(FLAGS_batch_size);
  }
  if (GivenOnCommandLine(FLAGS_learning_rate)) {
    recipe.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  }
  if (recipe.batch_size <= 0 || recipe.epochs < 0) {
    return absl::InvalidArgumentError(
        "--batch_size must be positive and --epochs not negative");
  }
  // The augmentation is keyed by the run's seed, as the weights are.
  recipe.augment.seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_seed));
  return settings;
}

// Augments(recipe) is true when the recipe transforms the training images.
bool Augments(const TrainingRecipe& recipe) {
  const AugmentOptions& a = recipe.augment;
  return a.max_shift_pixels > 0 || a.max_rotation_degrees > 0 ||
         a.scale_range > 0 || a.elastic_alpha > 0;
}

// ReportTimeToAccuracy prints, once, how long training took to first reach
// `target` test (validation) accuracy: the sum of the epochs' seconds,
// validation included.
EpochCallback ReportTimeToAccuracy(double target) {
  auto seconds = std::make_shared<double>(0);
  auto reached = std::make_shared<bool>(false);
  return [=](Trainer& trainer, const EpochLogs& logs) -> absl::StatusOr<bool> {
    *seconds += logs.seconds;
    if (!*reached && logs.val_accuracy.has_value() &&
        *logs.val_accuracy >= target) {
      *reached = true;
      std::printf("reached %.1f%% test accuracy after %.1f s of training "
                  "(epoch %lld)\n",
                  100 * target, *seconds, static_cast<long long>(logs.epoch));
    }
    return true;
  };
}

// Checks the flags of this run against those recorded by the run being
// resumed: what would silently be ignored is an error, what makes the
// continuation differ from an uninterrupted run a warning. Returns the
// metadata this run's own checkpoints carry: the resumed run's, with this
// run's thread count and data folder.
absl::StatusOr<std::map<std::string, std::string>> CheckResumedRun(
    const std::map<std::string, std::string>& saved, const std::string& resume,
    const std::string& data_dir, const Settings& settings) {
  auto recorded = [&](const char* key) -> const std::string* {
    auto it = saved.find(key);
    return it == saved.end() ? nullptr : &it->second;
  };
  if (saved.empty()) {
    std::fprintf(stderr,
                 "mnist: warning: the checkpoint in %s records no flags; "
                 "cannot check this run against it\n",
                 resume.c_str());
  }
  // The optimizer and its learning rate are part of the saved graph.
  const std::string* optimizer = recorded("optimizer");
  if (GivenOnCommandLine(FLAGS_optimizer) && optimizer != nullptr &&
      *optimizer != absl::GetFlag(FLAGS_optimizer)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--optimizer=", absl::GetFlag(FLAGS_optimizer), " differs from the ",
        *optimizer, " of the run saved in ", resume,
        ", whose graph holds the optimizer; omit the flag to continue it"));
  }
  const std::string* rate = recorded("learning_rate");
  double saved_rate = 0;
  if (GivenOnCommandLine(FLAGS_learning_rate) && rate != nullptr &&
      (!absl::SimpleAtod(*rate, &saved_rate) ||
       saved_rate != absl::GetFlag(FLAGS_learning_rate))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--learning_rate=", absl::GetFlag(FLAGS_learning_rate),
        " differs from the ", *rate, " of the run saved in ", resume,
        ", whose graph holds the learning rate; omit the flag to continue "
        "it"));
  }
  auto warn_if_differs = [&](const char* key, const std::string& now,
                             const char* what) {
    const std::string* then = recorded(key);
    if (then != nullptr && *then != now) {
      std::fprintf(stderr,
                   "mnist: warning: %s is %s but was %s in the saved run; "
                   "the result is not promised to be bit-exact with an "
                   "uninterrupted run\n",
                   what, now.c_str(), then->c_str());
    }
  };
  warn_if_differs("threads", absl::StrCat(NumThreads()), "the thread count");
  warn_if_differs("batch_size", absl::StrCat(settings.recipe.batch_size),
                  "--batch_size");
  warn_if_differs("data_dir", data_dir, "the data folder");
  warn_if_differs("train_limit",
                  absl::StrCat(absl::GetFlag(FLAGS_train_limit)),
                  "--train_limit");
  if (GivenOnCommandLine(FLAGS_seed)) {
    warn_if_differs("seed", absl::StrCat(absl::GetFlag(FLAGS_seed)),
                    "--seed (ignored: shuffling continues from the saved "
                    "generator)");
  }
  std::map<std::string, std::string> metadata = saved;
  metadata["threads"] = absl::StrCat(NumThreads());
  metadata["data_dir"] = data_dir;
  metadata["batch_size"] = absl::StrCat(settings.recipe.batch_size);
  metadata["train_limit"] = absl::StrCat(absl::GetFlag(FLAGS_train_limit));
  metadata["resumed_from"] = resume;
  return metadata;
}

ModelSpec SpecFrom(const ClassifierModel& m, std::vector<NodeOutput> targets) {
  ModelSpec spec;
  spec.inputs = m.images;
  spec.labels = m.labels;
  spec.loss = m.loss;
  spec.accuracy = m.accuracy;
  spec.train_targets = std::move(targets);
  return spec;
}

// The same values looked up by name in a loaded graph.
absl::StatusOr<ModelSpec> SpecFromGraph(const Graph& graph,
                                        absl::string_view scope) {
  ModelSpec spec;
  NABLA_ASSIGN_OR_RETURN(spec.inputs, graph.FindOutput("images"));
  NABLA_ASSIGN_OR_RETURN(spec.labels, graph.FindOutput("labels"));
  NABLA_ASSIGN_OR_RETURN(spec.loss, graph.FindOutput("loss"));
  NABLA_ASSIGN_OR_RETURN(spec.accuracy, graph.FindOutput("accuracy"));
  NABLA_ASSIGN_OR_RETURN(spec.train_targets, TrainTargets(graph, scope));
  return spec;
}

// Rank 0 of a distributed run, or the only process.
bool IsLead() {
  const dist::World* world = dist::World::Get();
  return world == nullptr || world->rank() == 0;
}

absl::Status Run() {
  const bool distributed = dist::World::Get() != nullptr;
  // Only rank 0 prints progress; errors go to stderr from every rank.
  if (!IsLead() && std::freopen("/dev/null", "w", stdout) == nullptr) {
    // Not fatal: this rank's progress lines then mix with rank 0's.
    std::perror("mnist: cannot send this rank's stdout to /dev/null");
  }
  NABLA_RETURN_IF_ERROR(Annotate(
      SetNumThreads(distributed && absl::GetFlag(FLAGS_threads) == 0
                        ? dist::ThreadsPerRank()
                        : absl::GetFlag(FLAGS_threads)),
      "--threads"));
  const std::string data_dir = DataDir();

  const std::string resume = UserPath(absl::GetFlag(FLAGS_resume));
  const std::string save_dir = UserPath(absl::GetFlag(FLAGS_save_dir));
  if (absl::GetFlag(FLAGS_evaluate_only) && resume.empty()) {
    return absl::InvalidArgumentError("--evaluate_only needs --resume=<folder>");
  }
  // A new run's settings are known now, a resumed run's once its
  // checkpoint is read.
  Settings settings;
  if (resume.empty()) {
    NABLA_ASSIGN_OR_RETURN(settings, ReadSettings(""));
  }
  // The data is read before the model is built: a schedule's length
  // depends on the number of training images.
  NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist(data_dir, "train", kPixels));
  NABLA_ASSIGN_OR_RETURN(MnistData test, LoadMnist(data_dir, "t10k", kPixels));
  Dataset train_set = Head(train, absl::GetFlag(FLAGS_train_limit));
  Dataset test_set = Head(test, absl::GetFlag(FLAGS_test_limit));

  std::unique_ptr<Session> session;
  ModelSpec spec;
  std::string scope;
  if (!resume.empty()) {
    // Everything, the optimizer included, comes from the saved graph.
    NABLA_ASSIGN_OR_RETURN(Graph graph,
                           LoadGraph(absl::StrCat(resume, "/", kGraphFile)));
    NABLA_ASSIGN_OR_RETURN(session, Session::Create(std::move(graph)));
    for (const char* candidate : {"Adam", "SGD", "Momentum"}) {
      if (session->graph().FindNode(absl::StrCat(candidate, "/iterations")).ok()) {
        scope = candidate;
      }
    }
    NABLA_ASSIGN_OR_RETURN(spec, SpecFromGraph(session->graph(), scope));
    if (distributed && dist::World::Get()->size() > 1 &&
        !dist::ReducesGradients(session->graph())) {
      return absl::InvalidArgumentError(absl::StrCat(
          resume, "/", kGraphFile, " was saved without --distributed: its "
          "training step does not average gradients across ranks"));
    }
    // A continuation saved elsewhere must be resumable from there too.
    if (!save_dir.empty() && save_dir != resume && IsLead()) {
      NABLA_RETURN_IF_ERROR(MakeDirectories(save_dir));
      NABLA_RETURN_IF_ERROR(
          SaveGraph(session->graph(), absl::StrCat(save_dir, "/", kGraphFile)));
    }
  } else {
    GraphBuilder b;
    ClassifierModel model =
        BuildModel(settings.model, b, absl::GetFlag(FLAGS_seed));
    NABLA_RETURN_IF_ERROR(b.status());
    const int64_t examples = train_set.inputs.shape()[0];
    const int64_t steps_per_epoch =
        (examples + settings.recipe.batch_size - 1) / settings.recipe.batch_size;
    NABLA_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> optimizer,
                           MakeOptimizer(settings, steps_per_epoch));
    TrainStep step;
    if (distributed) {
      dist::DistributedOptions options;
      options.bucket_bytes = absl::GetFlag(FLAGS_bucket_bytes);
      options.overlap = absl::GetFlag(FLAGS_overlap);
      dist::DistributedOptimizer wrapped(optimizer.get(), options);
      NABLA_ASSIGN_OR_RETURN(step, wrapped.Minimize(model.loss, model.variables));
    } else {
      NABLA_ASSIGN_OR_RETURN(step, optimizer->Minimize(model.loss, model.variables));
    }
    scope = step.scope;
    NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
    if (!save_dir.empty() && IsLead()) {
      NABLA_RETURN_IF_ERROR(MakeDirectories(save_dir));
      NABLA_RETURN_IF_ERROR(SaveGraph(graph, absl::StrCat(save_dir, "/", kGraphFile)));
    }
    NABLA_ASSIGN_OR_RETURN(session, Session::Create(std::move(graph)));
    spec = SpecFrom(model, step.targets());
  }

  NABLA_ASSIGN_OR_RETURN(
      auto trainer,
      Trainer::Create(session.get(), spec, static_cast<uint64_t>(absl::GetFlag(FLAGS_seed))));
  if (!resume.empty()) {
    NABLA_RETURN_IF_ERROR(
        trainer->RestoreCheckpoint(absl::StrCat(resume, "/", kCheckpointFile)));
    auto saved_model = trainer->metadata().find("model");
    NABLA_ASSIGN_OR_RETURN(
        settings, ReadSettings(saved_model == trainer->metadata().end()
                                   ? "lecture"
                                   : saved_model->second));
  }
  std::map<std::string, std::string> metadata = RunMetadata(settings, data_dir);
  if (!resume.empty()) {
    std::printf("resumed %s after epoch %lld (step %lld)\n", resume.c_str(),
                static_cast<long long>(trainer->epoch()),
                static_cast<long long>(trainer->step()));
    if (!absl::GetFlag(FLAGS_evaluate_only)) {
      NABLA_ASSIGN_OR_RETURN(
          metadata,
          CheckResumedRun(trainer->metadata(), resume, data_dir, settings));
    }
  }
  if (distributed) {
    // Every rank must hold the same graph and state; then rank 0's
    // variables become everyone's, and each rank takes its shard.
    NABLA_RETURN_IF_ERROR(dist::Synchronize(
        session.get(), {static_cast<uint64_t>(trainer->epoch()),
                        static_cast<uint64_t>(trainer->step())}));
    NABLA_RETURN_IF_ERROR(trainer->SetSharding(dist::WorldSharding()));
    std::printf("data-parallel over %d ranks: %lld examples per rank per "
                "step\n",
                dist::World::Get()->size(),
                static_cast<long long>(settings.recipe.batch_size /
                                       dist::World::Get()->size()));
    dist::World::Get()->ResetStats();
  }

  std::printf("nabla MNIST, %s model: %lld training and %lld test images "
              "from %s, %d threads\n",
              ModelKindName(settings.model).c_str(),
              static_cast<long long>(train_set.inputs.shape()[0]),
              static_cast<long long>(test_set.inputs.shape()[0]),
              data_dir.c_str(), NumThreads());

  absl::Time start = absl::Now();
  History history;
  if (!absl::GetFlag(FLAGS_evaluate_only)) {
    FitOptions options;
    options.batch_size = settings.recipe.batch_size;
    options.epochs = settings.recipe.epochs;
    if (Augments(settings.recipe)) {
      options.augment = Augmentation(settings.recipe.augment);
    }
    options.validation = test_set;
    // Keras validates in batches of the training batch size; so do we, and
    // the evaluation plan then needs no more memory than the training one.
    options.validation_batch_size = options.batch_size;
    if (!IsLead()) options.verbosity = Verbosity::kSilent;
    if (!save_dir.empty() && IsLead()) {
      NABLA_RETURN_IF_ERROR(MakeDirectories(save_dir));
      options.callbacks.push_back(SaveCheckpointEachEpoch(
          absl::StrCat(save_dir, "/", kCheckpointFile), 1, metadata));
    }
    options.callbacks.push_back(TerminateOnNaN());
    options.callbacks.push_back(ReportTimeToAccuracy(0.99));
    NABLA_ASSIGN_OR_RETURN(history, trainer->Fit(train_set, options));
  }
  NABLA_ASSIGN_OR_RETURN(EvalResult result,
                         trainer->Evaluate(test_set, settings.recipe.batch_size));
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  double train_seconds = 0;
  for (double s : history.seconds) train_seconds += s;
  std::printf("\ntest accuracy %.2f%% (loss %.4f) on %lld images\n",
              100 * result.accuracy.value_or(0), result.loss,
              static_cast<long long>(result.examples));
  if (history.size() > 0) {
    std::printf("%zu epochs in %.1f s (%.1f s per epoch, %.0f images/s with "
                "validation), %d threads, peak memory %.0f MB\n",
                history.size(), train_seconds, train_seconds / history.size(),
                history.size() * train_set.inputs.shape()[0] / train_seconds,
                NumThreads(), PeakRssMb());
  }
  if (!history.augment_wait_seconds.empty()) {
    double waited = 0;
    for (double s : history.augment_wait_seconds) waited += s;
    std::printf("augmented images: training waited %.2f s for them in all "
                "(the first epoch's included)\n",
                waited);
  }
  if (distributed && history.size() > 0) {
    dist::CollectiveStats stats = dist::World::Get()->stats();
    std::printf("communication: %lld collectives, %.0f MB per rank, %.2f s in "
                "flight, %.2f s of it waited for (%.0f%% hidden behind "
                "computation)\n",
                static_cast<long long>(stats.collectives), stats.bytes / 1e6,
                stats.busy_seconds, stats.blocked_seconds,
                stats.busy_seconds > 0
                    ? 100 * std::max(0.0, 1 - stats.blocked_seconds /
                                                  stats.busy_seconds)
                    : 0.0);
  }
  if (!absl::GetFlag(FLAGS_metrics_out).empty() && IsLead()) {
    NABLA_RETURN_IF_ERROR(WriteMetrics(UserPath(absl::GetFlag(FLAGS_metrics_out)),
                                       history, result, seconds));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains the lecture's CNN on MNIST. See examples/mnist.cc for examples.");
  nabla::RecordFlagsGiven(argc, argv);
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_distributed)) {
    nabla::dist::WorldOptions options;
    options.timeout = absl::Seconds(absl::GetFlag(FLAGS_collective_timeout));
    options.fixed_order = absl::GetFlag(FLAGS_fixed_order);
    auto world = nabla::dist::World::Init(&argc, &argv, options);
    if (!world.ok()) {
      std::fprintf(stderr, "mnist: %s\n", std::string(world.status().message()).c_str());
      return 1;
    }
  }
  absl::Status status = nabla::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "mnist: %s\n", std::string(status.message()).c_str());
    // An error on this rank alone would leave the others waiting for it.
    if (nabla::dist::World::Get() != nullptr &&
        !nabla::dist::FailedOnEveryRank(status)) {
      nabla::dist::World::Abort("ending the job after this rank's error");
    }
  }
  nabla::dist::World::Shutdown();
  return status.ok() ? 0 : 1;
}
