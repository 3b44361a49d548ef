// DistributedOptimizer: data-parallel training as part of the graph.
//
// It wraps an Optimizer (train/optimizer.h) the way Horovod's
// DistributedOptimizer wraps Keras's: the gradients of the local batch are
// averaged over the processes between the backward pass and the updates,
// so every process applies the same update to the same weights. The
// averaging is graph nodes (dist/ops.h): the training step still
// serializes, loads and draws as one graph, and TrainTargets finds it.
//
//   dist::DistributedOptions options;            // mean, 1 MiB buckets
//   Adam adam;
//   DistributedOptimizer optimizer(&adam, options);
//   NABLA_ASSIGN_OR_RETURN(TrainStep train,
//                          optimizer.Minimize(model.loss, model.variables));
//
// Overlap: gradients are packed into buckets of about bucket_bytes in the
// order the backward pass completes them (last layer first), and each
// bucket's reduction starts as soon as its last gradient exists
// (GradientReadyFn in graph/autodiff.h), on the communication thread,
// while the main thread differentiates the earlier layers. The update
// nodes wait for it only when they need the result.
//
// Outside an MPI job the added nodes are the identity, so the same graph
// also trains on one process.

#ifndef NABLA_DIST_DISTRIBUTED_OPTIMIZER_H_
#define NABLA_DIST_DISTRIBUTED_OPTIMIZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dist/world.h"
#include "graph/builder.h"
#include "train/optimizer.h"

namespace nabla {
namespace dist {

// kDefaultBucketBytes is the bucket size bench/dist_bench.sh measured best
// for the lecture model on 2 processes (see bench/README.md).
inline constexpr int64_t kDefaultBucketBytes = int64_t{1} << 20;

struct DistributedOptions {
  // Gradients are averaged (the global batch's mean loss) or summed.
  Reduction reduction = Reduction::kMean;
  // A bucket closes once it holds at least this many bytes; 0 gives every
  // gradient its own reduction. A larger gradient is a bucket by itself.
  int64_t bucket_bytes = kDefaultBucketBytes;
  // false waits for each bucket right after starting it, which exposes all
  // the communication: for measuring what overlap hides.
  bool overlap = true;
  // The prefix of the added nodes' names.
  std::string name = "AllReduce";
};

// BucketPlan says which gradients share which bucket, for tests and tools.
struct BucketPlan {
  // buckets[k] lists indices into the variables, in the order packed.
  std::vector<std::vector<int>> buckets;
};

class DistributedOptimizer {
 public:
  // `optimizer` must outlive this object.
  explicit DistributedOptimizer(Optimizer* optimizer,
                                DistributedOptions options = {})
      : optimizer_(optimizer), options_(std::move(options)) {}

  // Minimize is Optimizer::Minimize with the gradients reduced over the
  // processes. TrainStep::gradients are the reduced gradients.
  absl::StatusOr<TrainStep> Minimize(Output loss, std::vector<Output> variables);

  // The buckets of the last Minimize.
  const BucketPlan& bucket_plan() const { return plan_; }

 private:
  Optimizer* optimizer_;
  DistributedOptions options_;
  BucketPlan plan_;
};

}  // namespace dist
}  // namespace nabla

#endif  // NABLA_DIST_DISTRIBUTED_OPTIMIZER_H_
