// int8 against f32 inference of the shipped lecture model: test accuracy on
// the 10000 MNIST test images and images/s at batch 1000, best of 5 rounds
// run interleaved (f32, int8, f32, int8, ...) so that a change in the
// machine's load hits both alike.
//
//   bazel run -c opt //bench:int8_bench -- [--threads=N] [--rounds=5]
//
// The int8 model is made as `nabla quantize` makes it (512 calibration
// images), in a temporary folder.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "infer/quantize.h"
#include "infer/saved_model.h"
#include "train/idx.h"

ABSL_FLAG(int, threads, 2, "Threads for oneDNN and nabla.");
ABSL_FLAG(int, rounds, 5, "Rounds per model; the best is reported.");
ABSL_FLAG(int64_t, batch, 1000, "Images per run.");
ABSL_FLAG(std::string, data_dir, "data/mnist", "The MNIST folder.");

namespace nabla {
namespace {

struct Model {
  const char* name;
  SavedModel saved;
  Plan* plan = nullptr;
  std::vector<Tensor> batches;
  std::vector<Tensor> fetches;
  double best_images_per_s = 0;
};

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return absl::StrCat(one, " ", five, " ", fifteen);
}

absl::Status Run() {
  NABLA_RETURN_IF_ERROR(SetNumThreads(absl::GetFlag(FLAGS_threads)));
  const int64_t batch = absl::GetFlag(FLAGS_batch);
  NABLA_ASSIGN_OR_RETURN(std::string dir, ShippedModelDir());
  IdxOptions idx;
  idx.images_as_float = false;
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  NABLA_ASSIGN_OR_RETURN(MnistData train, LoadMnist(data_dir, "train", idx));
  NABLA_ASSIGN_OR_RETURN(MnistData test, LoadMnist(data_dir, "t10k", idx));

  Model models[2] = {{"f32"}, {"int8"}};
  NABLA_ASSIGN_OR_RETURN(models[0].saved, LoadSavedModel(dir));
  NABLA_ASSIGN_OR_RETURN(QuantizedGraph q,
                         QuantizeModel(models[0].saved, train.images));
  char tmp[] = "/tmp/int8_bench.XXXXXX";
  if (::mkdtemp(tmp) == nullptr) return absl::InternalError("mkdtemp failed");
  const std::string int8_dir = absl::StrCat(tmp, "/model");
  NABLA_RETURN_IF_ERROR(SaveQuantizedModel(q, models[0].saved, int8_dir));
  NABLA_ASSIGN_OR_RETURN(models[1].saved, LoadSavedModel(int8_dir));

  const int64_t count = test.images.shape()[0] / batch * batch;
  for (Model& m : models) {
    NABLA_ASSIGN_OR_RETURN(
        double accuracy,
        ClassificationAccuracy(*m.saved.session, test.images, test.labels));
    std::printf("%-4s test accuracy (%lld images): %.2f%%\n", m.name,
                static_cast<long long>(test.labels.num_elements()), 100 * accuracy);
    const Graph& graph = m.saved.session->graph();
    NABLA_ASSIGN_OR_RETURN(NodeOutput images, graph.FindOutput("images"));
    NABLA_ASSIGN_OR_RETURN(NodeOutput probabilities,
                           graph.FindOutput("probabilities"));
    NABLA_ASSIGN_OR_RETURN(
        m.plan, m.saved.session->Compile({{images, Shape({batch, 1, 28, 28})}},
                                         {probabilities}, {},
                                         CompileOptions{RunMode::kInference}));
    for (int64_t start = 0; start < count; start += batch) {
      Tensor part(DType::kU8, Shape({batch, 1, 28, 28}));
      std::copy_n(test.images.data<uint8_t>() + start * 784, batch * 784,
                  part.data<uint8_t>());
      m.batches.push_back(part);
    }
    NABLA_RETURN_IF_ERROR(m.plan->Run({m.batches[0]}, &m.fetches));  // warm up
  }
  std::printf("batch %lld, %d threads, %lld images a round; load before: %s\n",
              static_cast<long long>(batch), absl::GetFlag(FLAGS_threads),
              static_cast<long long>(count), LoadAverage().c_str());
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    for (Model& m : models) {
      const auto start = std::chrono::steady_clock::now();
      for (const Tensor& part : m.batches) {
        NABLA_RETURN_IF_ERROR(m.plan->Run({part}, &m.fetches));
      }
      const double seconds = std::chrono::duration<double>(
                                 std::chrono::steady_clock::now() - start)
                                 .count();
      const double rate = count / seconds;
      m.best_images_per_s = std::max(m.best_images_per_s, rate);
      std::printf("  round %d %-4s %8.0f images/s\n", round + 1, m.name, rate);
    }
  }
  std::printf("best: f32 %.0f images/s, int8 %.0f images/s, int8/f32 %.2fx; "
              "plan reorders f32 %d, int8 %d; load after: %s\n",
              models[0].best_images_per_s, models[1].best_images_per_s,
              models[1].best_images_per_s / models[0].best_images_per_s,
              models[0].plan->stats().num_reorders,
              models[1].plan->stats().num_reorders, LoadAverage().c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  absl::Status status = nabla::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "int8_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
