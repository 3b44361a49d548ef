#include "dist/distributed_optimizer.h"

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "dist/ops.h"
#include "graph/autodiff.h"

namespace nabla {
namespace dist {
namespace {

// A bucket being filled: the gradients it holds, in packing order.
struct OpenBucket {
  std::vector<int> members;
  std::vector<Output> gradients;
  int64_t elements = 0;
};

// Started: the node to wait for and where each member lies in it.
struct StartedBucket {
  Output started;
  std::vector<int> members;
  std::vector<int64_t> offsets;
};

std::string VariableName(const Output& v) {
  return v.builder()->graph().node(v.ref().node).name;
}

}  // namespace

absl::StatusOr<TrainStep> DistributedOptimizer::Minimize(
    Output loss, std::vector<Output> variables) {
  if (optimizer_ == nullptr) {
    return absl::InvalidArgumentError("DistributedOptimizer needs an optimizer");
  }
  if (options_.bucket_bytes < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DistributedOptimizer: bucket_bytes must not be negative, got ",
        options_.bucket_bytes));
  }
  if (!loss.valid()) {
    return absl::InvalidArgumentError(
        "DistributedOptimizer: the loss is not a valid value");
  }
  GraphBuilder& b = *loss.builder();
  for (size_t i = 0; i < variables.size(); ++i) {
    if (!variables[i].valid() || variables[i].builder() != &b) {
      return absl::InvalidArgumentError(absl::StrCat(
          "DistributedOptimizer: variable ", i,
          " is not a valid value of the loss's graph"));
    }
    if (!variables[i].shape().IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "DistributedOptimizer: variable '", VariableName(variables[i]),
          "' has no fully known shape"));
    }
  }
  const std::string scope = b.UniqueName(options_.name);
  plan_ = BucketPlan();
  OpenBucket open;
  std::vector<StartedBucket> started;

  // Packs the open bucket and starts its reduction.
  auto close = [&]() -> absl::Status {
    if (open.members.empty()) return absl::OkStatus();
    const std::string prefix =
        absl::StrCat(scope, "/bucket_", static_cast<int>(started.size()));
    StartedBucket s;
    s.members = open.members;
    Output bucket = AllReduceBucket(b, open.elements, prefix);
    int64_t offset = 0;
    for (size_t k = 0; k < open.members.size(); ++k) {
      const Output& v = variables[open.members[k]];
      bucket = AllReducePut(bucket, open.gradients[k], offset,
                            absl::StrCat(prefix, "/put/", VariableName(v)));
      s.offsets.push_back(offset);
      offset += v.shape().NumElements();
    }
    s.started = AllReduceStart(bucket, options_.reduction,
                               absl::StrCat(prefix, "/start"));
    if (!options_.overlap) {
      s.started = AllReduceWait(s.started, absl::StrCat(prefix, "/wait"));
    }
    plan_.buckets.push_back(open.members);
    started.push_back(std::move(s));
    open = OpenBucket();
    return b.status();
  };

  // Called as the backward pass completes each gradient, last layer first.
  auto on_ready = [&](int index, const Output& gradient) -> absl::Status {
    const int64_t elements = variables[index].shape().NumElements();
    open.members.push_back(index);
    open.gradients.push_back(gradient);
    open.elements += elements;
    if (open.elements * static_cast<int64_t>(sizeof(float)) >=
        options_.bucket_bytes) {
      return close();
    }
    return absl::OkStatus();
  };
  NABLA_ASSIGN_OR_RETURN(std::vector<Output> local,
                         Gradients(loss, variables, on_ready));
  NABLA_RETURN_IF_ERROR(close());

  // Waits in the order the reductions were started, each just before the
  // updates that read its bucket.
  std::vector<Output> reduced(variables.size());
  for (size_t k = 0; k < started.size(); ++k) {
    const StartedBucket& s = started[k];
    Output done = s.started;
    if (options_.overlap) {
      done = AllReduceWait(
          done, absl::StrCat(scope, "/bucket_", static_cast<int>(k), "/wait"));
    }
    for (size_t m = 0; m < s.members.size(); ++m) {
      const Output& v = variables[s.members[m]];
      reduced[s.members[m]] =
          AllReduceTake(done, s.offsets[m], v.shape(),
                        absl::StrCat(scope, "/take/", VariableName(v)));
    }
  }
  NABLA_RETURN_IF_ERROR(b.status());
  NABLA_ASSIGN_OR_RETURN(TrainStep step,
                         optimizer_->ApplyGradients(reduced, variables));
  (void)local;
  return step;
}

}  // namespace dist
}  // namespace nabla
