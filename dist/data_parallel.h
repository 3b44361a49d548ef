// Start-up and bookkeeping for data-parallel training (see dist/world.h,
// dist/distributed_optimizer.h):
//
//   NABLA_ASSIGN_OR_RETURN(dist::World* world, dist::World::Init(&argc, &argv));
//   ... build the graph with a DistributedOptimizer, create the session and
//   the Trainer, restore a checkpoint if resuming ...
//   NABLA_RETURN_IF_ERROR(dist::Synchronize(session.get(), {trainer->step()}));
//   trainer->SetSharding(dist::WorldSharding());
//
// Synchronize first compares a fingerprint of every rank's graph and
// variables (an allgather), so that ranks that would compute different
// things stop at once with a message on every rank instead of hanging or
// silently diverging; then it copies rank 0's variables to all.

#ifndef NABLA_DIST_DATA_PARALLEL_H_
#define NABLA_DIST_DATA_PARALLEL_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "graph/session.h"
#include "train/fit.h"

namespace nabla {
namespace dist {

// Fingerprint is what ranks compare at start-up.
struct Fingerprint {
  uint64_t graph = 0;      // the deterministically serialized GraphDef
  uint64_t variables = 0;  // every variable's name, dtype and shape
  uint64_t state = 0;      // the caller's `state` values (epoch, step...)
  uint64_t nodes = 0;      // the node count, for the message
};

// FingerprintOf computes this process's fingerprint.
Fingerprint FingerprintOf(const Session& session,
                          absl::Span<const uint64_t> state = {});

// CheckSameEverywhere gathers every rank's fingerprint and compares them.
// Errors (on every rank alike): FailedPrecondition naming the ranks that
// differ from rank 0 and in what. One process: OK.
absl::Status CheckSameEverywhere(const Session& session,
                                 absl::Span<const uint64_t> state = {});

// BroadcastVariables copies rank 0's value of every variable (weights,
// optimizer slots, the step count) to the other ranks.
absl::Status BroadcastVariables(Session* session);

// Synchronize is CheckSameEverywhere, then BroadcastVariables.
absl::Status Synchronize(Session* session,
                         absl::Span<const uint64_t> state = {});

// FailedOnEveryRank is true for errors that every rank returned together
// (a fingerprint mismatch): the job can end normally. Any other error
// happened on this rank alone; end the job with World::Abort so the others
// do not wait for this one until they time out.
bool FailedOnEveryRank(const absl::Status& status);

// VariablesChecksum is a 64-bit hash of every variable's bytes, in name
// order: equal on all ranks after a correct data-parallel step.
uint64_t VariablesChecksum(const Session& session);

// ReducesGradients is true when `graph` averages gradients across
// processes (it holds AllReduce nodes, as DistributedOptimizer adds). A
// graph without them trained on several processes would let each rank
// drift apart on its own shard.
bool ReducesGradients(const Graph& graph);

// ThreadsPerRank is the thread count that shares this machine's cores
// evenly between the ranks mpirun started on it (OMPI_COMM_WORLD_LOCAL_SIZE),
// at least 1; all cores outside mpirun.
int ThreadsPerRank();

// WorldSharding splits each batch of a Trainer over the world's ranks and
// sums its logs across them (see Sharding in train/fit.h).
Sharding WorldSharding();

}  // namespace dist
}  // namespace nabla

#endif  // NABLA_DIST_DATA_PARALLEL_H_
