// A small data-parallel training run for the tests in this folder, run
// under mpirun (or alone, as one process).
//
//   dist_train --steps=50 --batch=128 --out=w1.bin             # 1 process
//   mpirun -np 2 dist_train --steps=50 --batch=128 --out=w2.bin
//   dist_train --compare=w1.bin,w2.bin --tolerance=1e-5
//
// A two-layer perceptron learns a fixed random labelling of random points
// with Adam; one epoch of --steps global batches. Every rank prints the
// checksum of its variables at the end; rank 0 writes them to --out. The
// failure flags make one rank die, hang or build another graph, for the
// tests of how the others end.

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "dist/data_parallel.h"
#include "dist/distributed_optimizer.h"
#include "dist/world.h"
#include "graph/session.h"
#include "ops/ops.h"
#include "train/fit.h"
#include "train/optimizer.h"

ABSL_FLAG(int, steps, 50, "Global batches in the run.");
ABSL_FLAG(int, steps_per_epoch, 0, "Split the run into epochs of this many steps (0: one epoch).");
ABSL_FLAG(int, batch, 128, "The global batch size.");
ABSL_FLAG(int, hidden, 64, "Hidden units.");
ABSL_FLAG(std::string, optimizer, "adam", "adam or sgd.");
ABSL_FLAG(int64_t, bucket_bytes, 4096, "DistributedOptions::bucket_bytes.");
ABSL_FLAG(bool, overlap, true, "DistributedOptions::overlap.");
ABSL_FLAG(bool, fixed_order, false, "WorldOptions::fixed_order.");
ABSL_FLAG(double, timeout, 60, "Collective timeout, seconds.");
ABSL_FLAG(std::string, out, "", "Rank 0 writes the variables here.");
ABSL_FLAG(std::string, checkpoint, "", "Rank 0 saves a checkpoint here at the end.");
ABSL_FLAG(std::string, resume_from, "", "Every rank restores this checkpoint first.");
ABSL_FLAG(std::string, compare, "", "a,b: compare two --out files and exit.");
ABSL_FLAG(double, tolerance, 0, "Largest |a - b| --compare accepts.");
ABSL_FLAG(int, fail_rank, -1, "The rank that fails.");
ABSL_FLAG(int, fail_after_epoch, 1, "It fails after this epoch.");
ABSL_FLAG(std::string, failure, "die", "die (SIGKILL), hang, or graph (a different graph).");

namespace nabla {
namespace {

constexpr int kFeatures = 16;
constexpr int kClasses = 4;

Dataset MakeData(int64_t n) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  Tensor x(DType::kF32, Shape({n, kFeatures}));
  Tensor y(DType::kI32, Shape({n}));
  std::vector<float> projection(kFeatures * kClasses);
  for (float& p : projection) p = uniform(rng);
  for (int64_t i = 0; i < n; ++i) {
    float* row = x.data<float>() + i * kFeatures;
    for (int f = 0; f < kFeatures; ++f) row[f] = uniform(rng);
    int best = 0;
    float best_score = -1e30f;
    for (int c = 0; c < kClasses; ++c) {
      float score = 0;
      for (int f = 0; f < kFeatures; ++f) score += row[f] * projection[f * kClasses + c];
      if (score > best_score) best_score = score, best = c;
    }
    y.data<int32_t>()[i] = best;
  }
  return Dataset{x, y};
}

absl::Status WriteVariables(const Session& session, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (const std::string& name : session.variables().Names()) {
    const Tensor* t = session.variables().Find(name);
    if (t->dtype() != DType::kF32) continue;
    out.write(static_cast<const char*>(t->raw_data()), t->nbytes());
  }
  return out.good() ? absl::OkStatus()
                    : absl::InternalError(absl::StrCat("cannot write ", path));
}

absl::StatusOr<std::vector<float>> ReadFloats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<float> floats(bytes.size() / sizeof(float));
  std::memcpy(floats.data(), bytes.data(), floats.size() * sizeof(float));
  return floats;
}

absl::Status Compare(const std::string& pair, double tolerance) {
  std::vector<std::string> paths = absl::StrSplit(pair, ',');
  if (paths.size() != 2) return absl::InvalidArgumentError("--compare=a,b");
  NABLA_ASSIGN_OR_RETURN(std::vector<float> a, ReadFloats(paths[0]));
  NABLA_ASSIGN_OR_RETURN(std::vector<float> b, ReadFloats(paths[1]));
  if (a.size() != b.size() || a.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the files hold ", a.size(), " and ", b.size(), " floats"));
  }
  double max_diff = 0, max_abs = 0;
  int64_t differing = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    max_diff = std::max(max_diff, d);
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(a[i])));
    differing += a[i] != b[i];
  }
  std::printf("compared %zu floats: max |a-b| = %.3g (largest |a| %.3g), %lld "
              "differ bitwise\n",
              a.size(), max_diff, max_abs, static_cast<long long>(differing));
  if (max_diff > tolerance) {
    return absl::OutOfRangeError(absl::StrCat("max |a-b| ", max_diff,
                                              " exceeds the tolerance ", tolerance));
  }
  return absl::OkStatus();
}

absl::Status Train(int rank) {
  const int steps = absl::GetFlag(FLAGS_steps);
  const int batch = absl::GetFlag(FLAGS_batch);
  const bool fail_here = rank == absl::GetFlag(FLAGS_fail_rank);
  const std::string failure = absl::GetFlag(FLAGS_failure);

  GraphBuilder b;
  Output x = b.Placeholder("x", {kUnknownDim, kFeatures});
  Output labels = b.Placeholder("labels", {kUnknownDim}, DType::kI32);
  const int hidden = absl::GetFlag(FLAGS_hidden) + (fail_here && failure == "graph");
  std::vector<Output> variables;
  auto dense = [&](Output in, int64_t units, Activation activation, const char* name) {
    Output w = b.Variable(absl::StrCat(name, "/w"), {in.shape()[1], units},
                          Initializer::GlorotUniform(variables.size() + 1));
    Output bias = b.Variable(absl::StrCat(name, "/b"), {units}, Initializer::Zeros());
    variables.push_back(w);
    variables.push_back(bias);
    return Dense(in, w, bias, activation, name);
  };
  Output h1 = dense(x, hidden, Activation::kRelu, "dense1");
  Output h2 = dense(h1, hidden, Activation::kRelu, "dense2");
  Output logits = dense(h2, kClasses, Activation::kLinear, "dense3");
  Output loss = SoftmaxCrossEntropy(logits, labels, Reduction::kMean, "loss");
  Output accuracy = Accuracy(logits, labels, "accuracy");
  NABLA_RETURN_IF_ERROR(b.status());

  std::unique_ptr<Optimizer> inner;
  if (absl::GetFlag(FLAGS_optimizer) == "sgd") {
    inner = std::make_unique<Sgd>(0.1f);
  } else {
    inner = std::make_unique<Adam>();
  }
  dist::DistributedOptions options;
  options.bucket_bytes = absl::GetFlag(FLAGS_bucket_bytes);
  options.overlap = absl::GetFlag(FLAGS_overlap);
  dist::DistributedOptimizer optimizer(inner.get(), options);
  NABLA_ASSIGN_OR_RETURN(TrainStep step, optimizer.Minimize(loss, variables));
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(graph)));

  ModelSpec spec;
  spec.inputs = x;
  spec.labels = labels;
  spec.loss = loss;
  spec.accuracy = accuracy;
  spec.train_targets = step.targets();
  // Each rank a different shuffling seed and different initial weights
  // would break the run; Synchronize fixes the weights, the seed is shared.
  NABLA_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(session.get(), spec, 42));
  if (!absl::GetFlag(FLAGS_resume_from).empty()) {
    NABLA_RETURN_IF_ERROR(trainer->RestoreCheckpoint(absl::GetFlag(FLAGS_resume_from)));
  }
  NABLA_RETURN_IF_ERROR(dist::Synchronize(
      session.get(), {static_cast<uint64_t>(trainer->epoch()),
                      static_cast<uint64_t>(trainer->step())}));
  NABLA_RETURN_IF_ERROR(trainer->SetSharding(dist::WorldSharding()));
  if (rank == 0) {
    std::printf("%zu buckets for %zu variables\n",
                optimizer.bucket_plan().buckets.size(), variables.size());
  }

  const int per_epoch = absl::GetFlag(FLAGS_steps_per_epoch) > 0
                            ? absl::GetFlag(FLAGS_steps_per_epoch)
                            : steps;
  Dataset data = MakeData(static_cast<int64_t>(per_epoch) * batch);
  FitOptions fit;
  fit.batch_size = batch;
  fit.epochs = steps / per_epoch;
  fit.verbosity = rank == 0 ? Verbosity::kEpochLines : Verbosity::kSilent;
  if (fail_here && failure != "graph") {
    const int after = absl::GetFlag(FLAGS_fail_after_epoch);
    fit.callbacks.push_back([after, failure, rank](Trainer&, const EpochLogs& logs)
                                -> absl::StatusOr<bool> {
      if (logs.epoch == after) {
        std::fprintf(stderr, "dist_train: rank %d %s now (pid %d)\n", rank,
                     failure == "die" ? "dies" : "hangs", getpid());
        std::fflush(stderr);
        if (failure == "die") raise(SIGKILL);
        for (;;) pause();
      }
      return true;
    });
  }
  NABLA_ASSIGN_OR_RETURN(History history, trainer->Fit(data, fit));
  NABLA_ASSIGN_OR_RETURN(EvalResult eval, trainer->Evaluate(data, batch));
  std::printf("rank %d: %lld steps, loss %.6f, evaluated %lld examples: loss "
              "%.6f accuracy %.4f, checksum %016llx\n",
              rank, static_cast<long long>(trainer->step()), history.loss.back(),
              static_cast<long long>(eval.examples), eval.loss,
              eval.accuracy.value_or(0),
              static_cast<unsigned long long>(dist::VariablesChecksum(*session)));
  if (rank == 0 && !absl::GetFlag(FLAGS_out).empty()) {
    NABLA_RETURN_IF_ERROR(WriteVariables(*session, absl::GetFlag(FLAGS_out)));
  }
  if (rank == 0 && !absl::GetFlag(FLAGS_checkpoint).empty()) {
    NABLA_RETURN_IF_ERROR(trainer->SaveCheckpoint(absl::GetFlag(FLAGS_checkpoint)));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!absl::GetFlag(FLAGS_compare).empty()) {
    absl::Status status = nabla::Compare(absl::GetFlag(FLAGS_compare),
                                         absl::GetFlag(FLAGS_tolerance));
    if (!status.ok()) std::fprintf(stderr, "dist_train: %s\n", std::string(status.message()).c_str());
    return status.ok() ? 0 : 1;
  }
  nabla::dist::WorldOptions options;
  options.timeout = absl::Seconds(absl::GetFlag(FLAGS_timeout));
  options.fixed_order = absl::GetFlag(FLAGS_fixed_order);
  auto world = nabla::dist::World::Init(&argc, &argv, options);
  if (!world.ok()) {
    std::fprintf(stderr, "dist_train: %s\n", std::string(world.status().message()).c_str());
    return 1;
  }
  absl::Status status = nabla::Train((*world)->rank());
  if (!status.ok()) {
    std::fprintf(stderr, "dist_train: rank %d: %s\n", (*world)->rank(),
                 std::string(status.message()).c_str());
    if (!nabla::dist::FailedOnEveryRank(status)) {
      nabla::dist::World::Abort("stopping the job after this rank's error");
    }
  }
  nabla::dist::World::Shutdown();
  return status.ok() ? 0 : 1;
}
