// Data-parallel training throughput of the lecture's MNIST model: one line
// per run, for bench/dist_bench.sh and bench/dist_scaling.sh.
//
//   bazel build -c opt //bench/dist:dist_bench
//   bazel-bin/bench/dist/dist_bench --threads=2                  # 1 process
//   mpirun -np 2 bazel-bin/bench/dist/dist_bench --threads=1     # 2 processes
//
// Each rank runs --steps training steps on its share of a --batch global
// batch of synthetic images (the kernels' cost does not depend on the
// pixels), after --warmup steps. Rank 0 prints images per second over the
// slowest rank's time, the communication the ranks spent waiting for
// (exposed) and the time reductions were in flight on the communication
// thread.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "core/dnnl_context.h"
#include "core/status.h"
#include "dist/data_parallel.h"
#include "dist/distributed_optimizer.h"
#include "dist/world.h"
#include "examples/lecture_model.h"
#include "graph/session.h"
#include "train/optimizer.h"

ABSL_FLAG(int, batch, 128, "The global batch, split evenly between ranks.");
ABSL_FLAG(int, steps, 40, "Timed steps.");
ABSL_FLAG(int, warmup, 5, "Untimed steps first.");
ABSL_FLAG(int, threads, 0, "Threads per rank (0: the cores split between the ranks).");
ABSL_FLAG(int64_t, bucket_bytes, nabla::dist::kDefaultBucketBytes, "Bucket size.");
ABSL_FLAG(bool, overlap, true, "Reduce while the backward pass goes on.");
ABSL_FLAG(bool, fixed_order, false, "Sum in rank order.");
ABSL_FLAG(double, poll_us, 20, "WorldOptions::poll_sleep in microseconds.");
ABSL_FLAG(std::string, label, "", "Printed at the start of the result line.");

namespace nabla {
namespace {

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::Status Run() {
  dist::World* world = dist::World::Get();
  const int ranks = world->size(), rank = world->rank();
  const int batch = absl::GetFlag(FLAGS_batch);
  if (batch % ranks != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--batch=", batch, " does not split between ", ranks, " ranks"));
  }
  const int local = batch / ranks;
  NABLA_RETURN_IF_ERROR(
      SetNumThreads(absl::GetFlag(FLAGS_threads) > 0 ? absl::GetFlag(FLAGS_threads)
                                                     : dist::ThreadsPerRank()));
  GraphBuilder b;
  LectureModel model = BuildLectureModel(b, 42);
  Adam adam;
  dist::DistributedOptions options;
  options.bucket_bytes = absl::GetFlag(FLAGS_bucket_bytes);
  options.overlap = absl::GetFlag(FLAGS_overlap);
  dist::DistributedOptimizer optimizer(&adam, options);
  NABLA_ASSIGN_OR_RETURN(TrainStep step, optimizer.Minimize(model.loss, model.variables));
  NABLA_ASSIGN_OR_RETURN(Graph graph, b.Build());
  NABLA_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(graph)));
  NABLA_RETURN_IF_ERROR(dist::Synchronize(session.get()));
  NABLA_ASSIGN_OR_RETURN(
      Plan * plan,
      session->Compile({{model.images, Shape({local, 1, 28, 28})},
                        {model.labels, Shape({local})}},
                       {model.loss}, step.targets()));
  Tensor images(DType::kU8, Shape({local, 1, 28, 28}));
  Tensor labels(DType::kI32, Shape({local}));
  std::mt19937 rng(rank);
  for (uint8_t& p : images.flat<uint8_t>()) p = rng() % 256;
  for (int32_t& l : labels.flat<int32_t>()) l = rng() % 10;
  std::vector<Tensor> out;
  for (int i = 0; i < absl::GetFlag(FLAGS_warmup); ++i) {
    NABLA_RETURN_IF_ERROR(plan->Run({images, labels}, &out));
  }
  double sync = 0;
  dist::SumAcrossRanks(&sync, 1, "the benchmark's start barrier");
  world->ResetStats();
  const int steps = absl::GetFlag(FLAGS_steps);
  const double start = Now();
  for (int i = 0; i < steps; ++i) {
    NABLA_RETURN_IF_ERROR(plan->Run({images, labels}, &out));
  }
  double seconds = Now() - start;
  const dist::CollectiveStats stats = world->stats();
  // The slowest rank's time, and the mean over ranks of the rest.
  std::vector<double> all(ranks, 0.0);
  all[rank] = seconds;
  dist::SumAcrossRanks(all.data(), ranks, "the benchmark's timings");
  double slowest = *std::max_element(all.begin(), all.end());
  double sums[2] = {stats.blocked_seconds, stats.busy_seconds};
  dist::SumAcrossRanks(sums, 2, "the benchmark's statistics");
  if (rank == 0) {
    const double blocked = sums[0] / ranks / steps, busy = sums[1] / ranks / steps;
    std::printf(
        "%sprocesses=%d threads=%d batch=%d bucket_bytes=%lld overlap=%d "
        "images_per_s=%.1f step_ms=%.2f exposed_comm_ms=%.2f "
        "inflight_comm_ms=%.2f collectives_per_step=%.1f buckets=%zu\n",
        absl::GetFlag(FLAGS_label).empty()
            ? ""
            : absl::StrCat(absl::GetFlag(FLAGS_label), " ").c_str(),
        ranks, NumThreads(), batch,
        static_cast<long long>(options.bucket_bytes), options.overlap ? 1 : 0,
        batch * steps / slowest, 1000 * slowest / steps, 1000 * blocked,
        1000 * busy, static_cast<double>(stats.collectives) / steps,
        optimizer.bucket_plan().buckets.size());
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace nabla

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  nabla::dist::WorldOptions options;
  options.fixed_order = absl::GetFlag(FLAGS_fixed_order);
  options.poll_sleep = absl::Microseconds(absl::GetFlag(FLAGS_poll_us));
  auto world = nabla::dist::World::Init(&argc, &argv, options);
  if (!world.ok()) {
    std::fprintf(stderr, "dist_bench: %s\n", std::string(world.status().message()).c_str());
    return 1;
  }
  absl::Status status = nabla::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "dist_bench: %s\n", std::string(status.message()).c_str());
    nabla::dist::World::Abort("dist_bench failed");
  }
  nabla::dist::World::Shutdown();
  return 0;
}
