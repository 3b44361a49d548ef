// The AllReduce op family: reductions over the processes of an MPI job as
// graph nodes, so that a data-parallel training step is one graph that
// serializes, loads and draws like any other.
//
//   Output g = AllReduce(grad, dist::Reduction::kMean);  // blocking
//
// DistributedOptimizer (dist/distributed_optimizer.h) uses the split form,
// which lets a reduction run while the graph goes on computing:
//
//   bucket = AllReduceBucket(b, elements)       f32[elements], kernel-owned
//   bucket = AllReducePut(bucket, grad, offset)  copies grad in, a view
//   bucket = AllReduceStart(bucket, reduction)   issues it, returns at once
//   ... the rest of the backward pass ...
//   bucket = AllReduceWait(bucket)               completes it
//   grad'  = AllReduceTake(bucket, offset, shape)
//
// The bucket's buffer belongs to the AllReduceBucket kernel, not to the
// executor's arena, so it stays valid while the reduction is in flight;
// the other bucket ops pass views of it along. Outside an MPI job (no
// dist::World, or one process) every op is the identity and no MPI call
// is made.

#ifndef NABLA_DIST_OPS_H_
#define NABLA_DIST_OPS_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "dist/world.h"
#include "graph/builder.h"

namespace nabla {

// AllReduce: y = the sum (or mean) over the processes of x, on every
// process. Its gradient is the same reduction of dy.
Output AllReduce(Output x, dist::Reduction reduction = dist::Reduction::kMean,
                 absl::string_view name = {});

// AllReduceBucket: a flat f32 buffer of `elements` that a reduction fills.
Output AllReduceBucket(GraphBuilder& b, int64_t elements,
                       absl::string_view name = {});
// AllReducePut: copies x (any shape) into the bucket at element `offset`.
Output AllReducePut(Output bucket, Output x, int64_t offset,
                    absl::string_view name = {});
// AllReduceStart: starts reducing the bucket in place.
Output AllReduceStart(Output bucket, dist::Reduction reduction,
                      absl::string_view name = {});
// AllReduceWait: waits for the reduction AllReduceStart started.
Output AllReduceWait(Output bucket, absl::string_view name = {});
// AllReduceTake: a copy of `shape`'s worth of elements at `offset`.
Output AllReduceTake(Output bucket, int64_t offset, const Shape& shape,
                     absl::string_view name = {});

}  // namespace nabla

#endif  // NABLA_DIST_OPS_H_
