// Optimizers in the spirit of Keras, built as graph nodes.
//
// Minimize() adds to the loss's graph the gradients, the optimizer's
// variables (learning rate, step count, per-variable slots such as Adam's
// moments) and one update node per variable. The whole training step is
// therefore part of the graph: it serializes with it, and a loaded graph can
// be trained by running the same targets (see TrainTargets).
//
//   Adam adam;  // Keras's defaults: learning rate 0.001, betas 0.9, 0.999
//   NABLA_ASSIGN_OR_RETURN(TrainStep train, adam.Minimize(loss, {w, b}));
//   NABLA_ASSIGN_OR_RETURN(Graph graph, builder.Build());
//   NABLA_ASSIGN_OR_RETURN(auto session, Session::Create(std::move(graph)));
//   NABLA_ASSIGN_OR_RETURN(Plan* step, session->Compile(
//       feeds, /*fetches=*/{loss}, /*targets=*/train.targets()));
//   ... step->Run(batch, &out) once per batch ...
//   NABLA_RETURN_IF_ERROR(SetLearningRate(session.get(), train.scope, 1e-4f));
//
// Learning-rate schedules (train/schedule.h) and Adam's decoupled weight
// decay are options of the same graph-built step:
//
//   AdamOptions options;
//   options.weight_decay = 0.01f;                 // AdamW
//   options.decay_filter = DecayOnlyMatrices();   // not biases, BN scale/shift
//   Adam adamw(options);
//   adamw.set_learning_rate_schedule(LearningRateSchedule::Cosine(10000));
//
// Node names: an optimizer with name "Adam" puts its own variables under
// "Adam/" ("Adam/learning_rate", "Adam/iterations", with a schedule
// "Adam/scheduled_learning_rate"), its update nodes at
// "Adam/update/<variable>", and slot variables beside the variable they
// belong to ("dense1/w/adam_m", "dense1/w/adam_v", "dense1/w/momentum").
// A second Minimize on the same graph uses "Adam_1/" and so on.

#ifndef NABLA_TRAIN_OPTIMIZER_H_
#define NABLA_TRAIN_OPTIMIZER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/builder.h"
#include "graph/graph.h"
#include "graph/session.h"
#include "train/schedule.h"

namespace nabla {

// TrainStep is what Optimizer::Minimize added to the graph.
struct TrainStep {
  // The prefix of the optimizer's node names, e.g. "Adam" or "Adam_1".
  std::string scope;
  // One update node per variable, in the order the variables were given;
  // each outputs its updated variable.
  std::vector<Output> updates;
  // d loss / d variable, in the same order.
  std::vector<Output> gradients;
  // The step count after this step's increment: an i64 scalar, 1 after the
  // first step.
  Output iterations;
  // The learning rate this step uses, an f32 scalar: the learning-rate
  // Variable itself, or with a schedule the schedule's node, which reads the
  // incremented step count (so fetch it from the plan that runs targets()).
  Output learning_rate;
  // The learning-rate Variable ("<scope>/learning_rate"): the base rate a
  // schedule scales, the rate itself without one.
  Output base_learning_rate;
  // With a schedule that cycles momentum, Adam's beta1 for this step (an
  // f32 scalar, read like learning_rate); otherwise not valid().
  Output momentum;

  // targets() is what a plan runs for one training step: every update and
  // the step increment.
  std::vector<NodeOutput> targets() const;
};

// Optimizer is the base of Sgd, Momentum and Adam.
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Minimize adds the gradients of `loss` (an f32 scalar) with respect to
  // `variables` and a step that updates them. Each variable must be a
  // distinct f32 Variable node of the loss's builder.
  absl::StatusOr<TrainStep> Minimize(Output loss,
                                     std::vector<Output> variables);

  // ApplyGradients adds the update of each variable by the gradient given
  // for it (grads[i] for variables[i]), for callers that transform
  // gradients first. The gradients' shapes must match the variables'.
  absl::StatusOr<TrainStep> ApplyGradients(std::vector<Output> grads,
                                           std::vector<Output> variables);

  // name() is the optimizer's preferred scope ("Adam" by default).
  const std::string& name() const { return name_; }
  // learning_rate() is the initial value of the learning-rate variable.
  float learning_rate() const { return learning_rate_; }

  // set_learning_rate_schedule makes later Minimize/ApplyGradients calls
  // compute each step's rate from the step count (see train/schedule.h);
  // the default, LearningRateSchedule::Constant(), uses the variable as is.
  void set_learning_rate_schedule(LearningRateSchedule schedule) {
    schedule_ = std::move(schedule);
  }
  const LearningRateSchedule& learning_rate_schedule() const {
    return schedule_;
  }

 protected:
  Optimizer(std::string name, float learning_rate)
      : name_(std::move(name)), learning_rate_(learning_rate) {}

  // UpdateContext is what an optimizer's rule sees of one variable.
  struct UpdateContext {
    GraphBuilder* builder;
    Output variable;
    Output gradient;
    Output learning_rate;
    Output iterations;  // the incremented step count
    Output momentum;    // a cycled momentum, or not valid()
    std::string node_name;  // the name to give the update node
  };

  // CheckOptions rejects out-of-range settings before any node is added.
  virtual absl::Status CheckOptions() const { return absl::OkStatus(); }

  // SupportsCycledMomentum is true for optimizers whose AddUpdate uses
  // UpdateContext::momentum.
  virtual bool SupportsCycledMomentum() const { return false; }

  // AddUpdate creates the variable's slots and its update node, and
  // returns the node's output.
  virtual Output AddUpdate(const UpdateContext& c) = 0;

  // AddSlot adds a zero-initialized slot variable named "<variable>/<slot>"
  // (made unique if taken).
  static Output AddSlot(const UpdateContext& c, absl::string_view slot);

 private:
  // The learning rate and CheckOptions.
  absl::Status CheckSettings() const;

  std::string name_;
  float learning_rate_;
  LearningRateSchedule schedule_;
};

// Sgd is plain gradient descent: var -= lr * grad.
class Sgd : public Optimizer {
 public:
  explicit Sgd(float learning_rate = 0.01f, std::string name = "SGD")
      : Optimizer(std::move(name), learning_rate) {}

 protected:
  Output AddUpdate(const UpdateContext& c) override;
};

// MomentumOptions are Keras's SGD(momentum=..., nesterov=...) settings.
struct MomentumOptions {
  float learning_rate = 0.01f;
  float momentum = 0.9f;  // in [0, 1]
  bool nesterov = false;
  std::string name = "Momentum";
};

// Momentum is SGD with (optionally Nesterov) momentum; its slot is
// "<variable>/momentum". See ApplyMomentum in ops/optimizers.h.
class Momentum : public Optimizer {
 public:
  explicit Momentum(MomentumOptions options = {})
      : Optimizer(options.name, options.learning_rate),
        momentum_(options.momentum),
        nesterov_(options.nesterov) {}

 protected:
  absl::Status CheckOptions() const override;
  Output AddUpdate(const UpdateContext& c) override;

 private:
  float momentum_;
  bool nesterov_;
};

// WeightDecayFilter says whether a variable is decayed (true) or left
// alone (false).
using WeightDecayFilter = std::function<bool(const Output& variable)>;

// ExcludeFromWeightDecay decays every variable but those listed.
WeightDecayFilter ExcludeFromWeightDecay(std::vector<Output> excluded);

// DecayOnlyMatrices decays variables of rank 2 or more (dense and
// convolution kernels, embeddings) and leaves vectors and scalars alone:
// biases and batch normalization's scale and shift, the usual exclusions.
WeightDecayFilter DecayOnlyMatrices();

// AdamOptions are Keras's Adam defaults.
struct AdamOptions {
  float learning_rate = 0.001f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-7f;
  std::string name = "Adam";
  // Decoupled weight decay (AdamW, as torch.optim.AdamW applies it; see
  // ApplyAdamW in ops/optimizers.h): each step, a decayed variable also
  // loses learning_rate * weight_decay times its value. 0 (the default) is
  // plain Adam. Finite and non-negative.
  float weight_decay = 0;
  // Which variables weight_decay applies to; empty: all of them. The others
  // get plain Adam updates.
  WeightDecayFilter decay_filter;
};

// Adam keeps slots "<variable>/adam_m" and "<variable>/adam_v". See
// ApplyAdam in ops/optimizers.h, and ApplyAdamW for a decayed variable.
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {})
      : Optimizer(options.name, options.learning_rate), options_(options) {}

 protected:
  absl::Status CheckOptions() const override;
  bool SupportsCycledMomentum() const override { return true; }
  Output AddUpdate(const UpdateContext& c) override;

 private:
  AdamOptions options_;
};

// AddL2Regularization returns loss + l2 * sum over `weights` of sum(w^2),
// built from graph ops: Keras's kernel_regularizer=l2(l2) convention (no
// factor 1/2; PyTorch's weight_decay=wd on SGD corresponds to l2 = wd / 2).
// The loss must be an f32 scalar, the weights f32 values of its graph, l2
// finite and non-negative. Nodes are named "<loss>/l2/...".
absl::StatusOr<Output> AddL2Regularization(Output loss,
                                           const std::vector<Output>& weights,
                                           float l2);

// SetLearningRate sets the learning-rate variable of the optimizer whose
// scope is `scope` in a session; plans compiled already see the new value
// on their next run.
absl::Status SetLearningRate(Session* session, absl::string_view scope,
                             float learning_rate);

// GetLearningRate reads it back.
absl::StatusOr<float> GetLearningRate(const Session& session,
                                      absl::string_view scope);

// TrainTargets finds the targets of the training step with scope `scope` in
// a graph, for example one loaded from a file: the "<scope>/update/..."
// nodes and the step increment.
absl::StatusOr<std::vector<NodeOutput>> TrainTargets(const Graph& graph,
                                                     absl::string_view scope);

}  // namespace nabla

#endif  // NABLA_TRAIN_OPTIMIZER_H_
