// End-to-end benchmarks of the lecture's MNIST model (examples/lecture_model.h)
// on random data, beside the same model written on raw oneDNN
// (bench/raw_dnnl.h):
//
//   BM_LectureTrainStep/<batch>      one training step: forward, backward and
//                                    Adam's update (batch 32, 128, 512)
//   BM_LectureTrainStep_Raw/<batch>  the same on oneDNN directly
//   BM_LectureInference/<batch>      softmax probabilities of a batch (1, 1000)
//   BM_LectureInference_Raw/<batch>  the same on oneDNN directly
//
//   bazel run -c opt //bench:e2e_bench -- --benchmark_format=json
//   bazel run -c opt //bench:e2e_bench -- --threads=1 --benchmark_filter=Inf
//
// items_per_second is images per second; ms_per_image is its inverse in
// milliseconds. The plan is compiled once per batch size, outside the timed
// loop; each iteration is one Plan::Run fetching what a training loop or a
// user reads (the loss, the probabilities) into a vector reused every time.
// bench/compare.py runs this binary and bench/torch_mnist.py together.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "bench/raw_dnnl.h"
#include "core/status.h"
#include "examples/lecture_model.h"
#include "graph/builder.h"
#include "graph/session.h"
#include "train/optimizer.h"

namespace nabla {
namespace bench {
namespace {

// Multiply-accumulates per image of each layer of the lecture's model.
constexpr double kConv1Macs = 32.0 * 24 * 24 * 1 * 5 * 5;
constexpr double kConv2Macs = 64.0 * 8 * 8 * 32 * 5 * 5;
constexpr double kDense1Macs = 1024.0 * 1000;
constexpr double kDense2Macs = 1000.0 * 10;
// FLOPs per image: the forward, and a training step (the backward needs
// no input gradient for conv1, and two products for the other layers).
constexpr double kForwardFlops =
    2 * (kConv1Macs + kConv2Macs + kDense1Macs + kDense2Macs);
constexpr double kTrainFlops =
    kForwardFlops +
    2 * (kConv1Macs + 2 * kConv2Macs + 2 * kDense1Macs + 2 * kDense2Macs);

struct PreparedModel {
  std::unique_ptr<GraphBuilder> builder;
  std::unique_ptr<Session> session;
  Plan* plan = nullptr;
  std::vector<Tensor> feeds;
  std::vector<Tensor> fetches;  // reused by every run
};

absl::StatusOr<std::unique_ptr<PreparedModel>> PrepareModel(int64_t batch,
                                                            bool training) {
  auto p = std::make_unique<PreparedModel>();
  p->builder = std::make_unique<GraphBuilder>();
  LectureModel model = BuildLectureModel(*p->builder, /*seed=*/42);
  std::vector<NodeOutput> targets;
  if (training) {
    NABLA_ASSIGN_OR_RETURN(TrainStep train,
                           Adam().Minimize(model.loss, model.variables));
    targets = train.targets();
  }
  NABLA_ASSIGN_OR_RETURN(Graph graph, p->builder->Build());
  NABLA_ASSIGN_OR_RETURN(p->session, Session::Create(std::move(graph)));
  // Random pixels of whatever dtype the model takes (u8 0-255, which it
  // rescales itself, or f32 in [0, 1)).
  const Shape image_shape({batch, 1, 28, 28});
  std::vector<FeedSpec> feeds = {{model.images, image_shape}};
  p->feeds = {RandomTensor(model.images.dtype(), image_shape, 1, 0.0f, 1.0f,
                           /*classes=*/256)};
  if (training) {
    feeds.push_back({model.labels, Shape({batch})});
    p->feeds.push_back(RandomTensor(DType::kI32, Shape({batch}), 2, 0, 0, 10));
  }
  const NodeOutput fetch = training ? model.loss : model.probabilities;
  NABLA_ASSIGN_OR_RETURN(p->plan, p->session->Compile(feeds, {fetch}, targets));
  return p;
}

void SetImageCounters(benchmark::State& state, int64_t batch, double flops,
                      const AllocationCount& before) {
  ReportCounters(state, Work{batch, flops * batch, 0}, before);
  // 1e-3 images per count, inverted: milliseconds per image.
  state.counters["ms_per_image"] = benchmark::Counter(
      1e-3 * batch * state.iterations(),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void ModelBenchmark(benchmark::State& state, bool training) {
  const int64_t batch = state.range(0);
  static std::string key;
  static std::unique_ptr<PreparedModel>* cached =
      new std::unique_ptr<PreparedModel>();
  const std::string wanted = absl::StrCat(training, "/", batch);
  if (key != wanted || *cached == nullptr) {
    cached->reset();
    absl::StatusOr<std::unique_ptr<PreparedModel>> made =
        PrepareModel(batch, training);
    if (SkipIfError(state, made.status())) return;
    *cached = *std::move(made);
    key = wanted;
  }
  PreparedModel& p = **cached;
  // Warm-up: the first run touches every buffer.
  if (SkipIfError(state, p.plan->Run(p.feeds, &p.fetches))) return;
  const AllocationCount before = Allocations();
  for (auto _ : state) {
    absl::Status status = p.plan->Run(p.feeds, &p.fetches);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  SetImageCounters(state, batch, training ? kTrainFlops : kForwardFlops,
                   before);
  if (training) state.counters["loss"] = p.fetches[0].data<float>()[0];
}

void RawModelBenchmark(benchmark::State& state, bool training) {
  const int64_t batch = state.range(0);
  static std::string key;
  static std::unique_ptr<RawLectureModel>* cached =
      new std::unique_ptr<RawLectureModel>();
  const std::string wanted = absl::StrCat(training, "/", batch);
  if (key != wanted || *cached == nullptr) {
    cached->reset();
    absl::StatusOr<std::unique_ptr<RawLectureModel>> made =
        RawLectureModel::Create(batch, training);
    if (SkipIfError(state, made.status())) return;
    *cached = *std::move(made);
    key = wanted;
  }
  RawLectureModel& model = **cached;
  if (SkipIfError(state, model.Run())) return;
  const AllocationCount before = Allocations();
  for (auto _ : state) {
    absl::Status status = model.Run();
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  SetImageCounters(state, batch, training ? kTrainFlops : kForwardFlops,
                   before);
  if (training) state.counters["loss"] = model.loss();
}

void BM_LectureTrainStep(benchmark::State& state) {
  ModelBenchmark(state, /*training=*/true);
}
void BM_LectureTrainStep_Raw(benchmark::State& state) {
  RawModelBenchmark(state, /*training=*/true);
}
void BM_LectureInference(benchmark::State& state) {
  ModelBenchmark(state, /*training=*/false);
}
void BM_LectureInference_Raw(benchmark::State& state) {
  RawModelBenchmark(state, /*training=*/false);
}

BENCHMARK(BM_LectureTrainStep)
    ->Arg(32)->Arg(128)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LectureTrainStep_Raw)
    ->Arg(32)->Arg(128)->Arg(512)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LectureInference)
    ->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LectureInference_Raw)
    ->Arg(1)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bench
}  // namespace nabla

int main(int argc, char** argv) {
  return nabla::bench::BenchmarkMain(argc, argv);
}
