// Measures augmentation on MNIST: how long AugmentImages takes for the
// first --examples training images, and how long a fit of the lecture model
// waits for its background-prepared epochs (History::augment_wait_seconds).
//
//   bazel run -c opt //tests/augment:measure_augment -- --examples=6000
//
// Defaults: --examples=6000 --epochs=3 --batch=64; --elastic adds elastic
// distortion.
//
// Not a test: it trains, and its numbers depend on the machine.

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "core/status.h"
#include "examples/lecture_model.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "train/augment.h"
#include "train/fit.h"
#include "train/idx.h"
#include "train/optimizer.h"

namespace nabla {
namespace {

struct Flags {
  int64_t examples = 6000;
  int64_t epochs = 3;
  int64_t batch = 64;
  bool elastic = false;
};

AugmentOptions Options(bool elastic) {
  AugmentOptions options;
  options.max_shift_pixels = 2;
  options.max_rotation_degrees = 10;
  options.scale_range = 0.1;
  if (elastic) {
    options.elastic_alpha = 34;
    options.elastic_sigma = 4;
  }
  options.seed = 1;
  return options;
}

// The first `n` rows of `t`.
Tensor FirstRows(const Tensor& t, int64_t n) {
  Tensor out(t.dtype(), t.shape().WithDim(0, n));
  std::memcpy(out.raw_data(), t.raw_data(), out.nbytes());
  return out;
}

absl::Status Measure(const Flags& flags) {
  IdxOptions idx;
  idx.images_as_float = false;
  NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist("data/mnist", "train", idx));

  Dataset data{FirstRows(train.images, flags.examples),
               FirstRows(train.labels, flags.examples)};

  // AugmentImages alone, on the same images, one thread and two.
  Tensor out(data.inputs.dtype(), data.inputs.shape());
  for (bool elastic : {false, true}) {
    for (int threads : {1, 2}) {
      const auto start = std::chrono::steady_clock::now();
      NABLA_RETURN_IF_ERROR(
          AugmentImages(data.inputs, Options(elastic), 1, &out, threads));
      const double seconds = std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
      std::printf("AugmentImages %s, %d thread%s: %lld images in %.3f s (%.0f images/s)\n",
                  elastic ? "affine + elastic" : "affine", threads,
                  threads == 1 ? "" : "s",
                  static_cast<long long>(flags.examples), seconds,
                  flags.examples / seconds);
    }
  }

  // A fit on the first `examples` images, augmented in the background.
  GraphBuilder b;
  LectureModel model = BuildLectureModel(b, 42);
  Adam adam;
  NABLA_ASSIGN_OR_RETURN(TrainStep step, adam.Minimize(model.loss, model.variables));
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(graph));
  ModelSpec spec;
  spec.inputs = model.images;
  spec.labels = model.labels;
  spec.loss = model.loss;
  spec.accuracy = model.accuracy;
  spec.train_targets = step.targets();
  NABLA_ASSIGN_OR_RETURN(auto trainer, Trainer::Create(session.get(), spec, 1));
  FitOptions options;
  options.epochs = flags.epochs;
  options.batch_size = flags.batch;
  options.verbosity = Verbosity::kEpochLines;
  options.augment = Augmentation(Options(flags.elastic));
  NABLA_ASSIGN_OR_RETURN(History history, trainer->Fit(data, options));
  for (size_t e = 0; e < history.size(); ++e) {
    std::printf("epoch %lld: %.3f s, waited %.6f s for its augmented inputs\n",
                static_cast<long long>(history.epoch[e]), history.seconds[e],
                history.augment_wait_seconds[e]);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  nabla::Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    bool ok = true;
    if (absl::ConsumePrefix(&arg, "--examples=")) {
      ok = absl::SimpleAtoi(arg, &flags.examples) && flags.examples > 0 &&
           flags.examples <= 60000;
    } else if (absl::ConsumePrefix(&arg, "--epochs=")) {
      ok = absl::SimpleAtoi(arg, &flags.epochs) && flags.epochs > 0;
    } else if (absl::ConsumePrefix(&arg, "--batch=")) {
      ok = absl::SimpleAtoi(arg, &flags.batch) && flags.batch > 0;
    } else if (arg == "--elastic") {
      flags.elastic = true;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "measure_augment: bad argument '%s'\n", argv[i]);
      return 2;
    }
  }
  absl::Status status = nabla::Measure(flags);
  if (!status.ok()) {
    std::fprintf(stderr, "measure_augment: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
