#include "train/optimizer.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "graph/autodiff.h"
#include "ops/arith.h"
#include "ops/optimizers.h"

namespace nabla {
namespace {

// The first of "name", "name_1", ... under which no optimizer variables
// exist yet.
std::string FreeScope(const GraphBuilder& b, const std::string& name) {
  auto taken = [&b](const std::string& scope) {
    return b.graph().FindNode(absl::StrCat(scope, "/iterations")).ok() ||
           b.graph().FindNode(absl::StrCat(scope, "/learning_rate")).ok();
  };
  std::string scope = name;
  for (int i = 1; taken(scope); ++i) scope = absl::StrCat(name, "_", i);
  return scope;
}

absl::Status CheckVariables(GraphBuilder* b,
                            const std::vector<Output>& variables) {
  if (variables.empty()) {
    return absl::InvalidArgumentError("no variables to optimize");
  }
  absl::flat_hash_set<int> seen;
  for (size_t i = 0; i < variables.size(); ++i) {
    const Output& v = variables[i];
    if (!v.valid() || v.builder() != b) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable ", i, " is not a valid value of the loss's graph"));
    }
    const Node& node = b->graph().node(v.ref().node);
    if (node.op() != "Variable") {
      return absl::InvalidArgumentError(
          absl::StrCat("'", node.name, "' is a ", node.op(),
                       ", not a Variable; only Variables can be optimized"));
    }
    if (v.dtype() != DType::kF32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", node.name, "' is ", v.spec().ToString(),
          "; only f32 variables can be optimized"));
    }
    if (!seen.insert(v.ref().node).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable '", node.name, "' is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<const Tensor*> FindLearningRate(const Session& session,
                                               absl::string_view scope) {
  std::string name = absl::StrCat(scope, "/learning_rate");
  const Tensor* value = session.variables().Find(name);
  if (value == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "the session has no learning-rate variable '", name, "'"));
  }
  if (value->dtype() != DType::kF32 || value->shape().rank() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", name, "' is ", value->DebugString(), ", not an f32 scalar"));
  }
  return value;
}

}  // namespace

std::vector<NodeOutput> TrainStep::targets() const {
  std::vector<NodeOutput> targets;
  targets.reserve(updates.size() + 1);
  for (const Output& update : updates) targets.push_back(update.ref());
  targets.push_back(iterations.ref());
  return targets;
}

// Checked before any node is added, so that a bad setting leaves the
// builder usable.
absl::Status Optimizer::CheckSettings() const {
  if (!std::isfinite(learning_rate_) || learning_rate_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the learning rate must be finite and non-negative, got ",
        learning_rate_));
  }
  NABLA_RETURN_IF_ERROR(schedule_.Validate());
  if (schedule_.cycles_momentum() && !SupportsCycledMomentum()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the learning-rate schedule cycles momentum, which ", name_,
        " does not support (only Adam's beta1 can be cycled)"));
  }
  return CheckOptions();
}

absl::StatusOr<TrainStep> Optimizer::Minimize(Output loss,
                                              std::vector<Output> variables) {
  if (!loss.valid()) {
    return absl::InvalidArgumentError(
        "Minimize: the loss is not a valid value (did building it fail?)");
  }
  NABLA_RETURN_IF_ERROR(CheckVariables(loss.builder(), variables));
  NABLA_RETURN_IF_ERROR(CheckSettings());
  NABLA_ASSIGN_OR_RETURN(std::vector<Output> grads,
                         Gradients(loss, variables));
  return ApplyGradients(std::move(grads), std::move(variables));
}

absl::StatusOr<TrainStep> Optimizer::ApplyGradients(
    std::vector<Output> grads, std::vector<Output> variables) {
  if (variables.empty() || !variables[0].valid()) {
    return absl::InvalidArgumentError(
        "ApplyGradients: no valid variables to optimize");
  }
  GraphBuilder* b = variables[0].builder();
  NABLA_RETURN_IF_ERROR(b->status());
  NABLA_RETURN_IF_ERROR(CheckVariables(b, variables));
  if (grads.size() != variables.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ApplyGradients: ", grads.size(), " gradients for ",
                     variables.size(), " variables"));
  }
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].valid() || grads[i].builder() != b) {
      return absl::InvalidArgumentError(
          absl::StrCat("the gradient of '", variables[i].name(),
                       "' is not a valid value of its graph"));
    }
    if (grads[i].dtype() != DType::kF32 ||
        !grads[i].shape().IsCompatibleWith(variables[i].shape())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the gradient of '", variables[i].name(), "' is ",
          grads[i].spec().ToString(), " but the variable is ",
          variables[i].spec().ToString()));
    }
  }
  NABLA_RETURN_IF_ERROR(CheckSettings());

  TrainStep step;
  step.scope = FreeScope(*b, name_);
  step.base_learning_rate =
      b->Variable(absl::StrCat(step.scope, "/learning_rate"), Shape(),
                  Initializer::Constant(learning_rate_));
  Output counter = b->Variable(absl::StrCat(step.scope, "/iterations"),
                               Shape(), Initializer::Zeros(), DType::kI64);
  Output one = b->Constant(Tensor::Filled<int64_t>(Shape(), 1),
                           absl::StrCat(step.scope, "/one"));
  step.iterations =
      AssignAdd(counter, one, absl::StrCat(step.scope, "/increment"));
  step.learning_rate =
      schedule_.AddTo(step.iterations, step.base_learning_rate,
                      absl::StrCat(step.scope, "/scheduled_learning_rate"));
  if (schedule_.cycles_momentum()) {
    step.momentum = schedule_.AddMomentumTo(
        step.iterations, absl::StrCat(step.scope, "/scheduled_momentum"));
  }
  step.gradients = grads;
  for (size_t i = 0; i < variables.size(); ++i) {
    UpdateContext c{b,
                    variables[i],
                    grads[i],
                    step.learning_rate,
                    step.iterations,
                    step.momentum,
                    absl::StrCat(step.scope, "/update/", variables[i].name())};
    step.updates.push_back(AddUpdate(c));
  }
  NABLA_RETURN_IF_ERROR(b->status());
  return step;
}

Output Optimizer::AddSlot(const UpdateContext& c, absl::string_view slot) {
  std::string name =
      c.builder->UniqueName(absl::StrCat(c.variable.name(), "/", slot));
  return c.builder->Variable(name, c.variable.shape(), Initializer::Zeros());
}

absl::Status Momentum::CheckOptions() const {
  if (!(momentum_ >= 0 && momentum_ <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("momentum must lie in [0, 1], got ", momentum_));
  }
  return absl::OkStatus();
}

absl::Status Adam::CheckOptions() const {
  for (auto [name, beta] : {std::pair<const char*, float>{"beta1", options_.beta1},
                            {"beta2", options_.beta2}}) {
    if (!(beta >= 0 && beta < 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " must lie in [0, 1), got ", beta));
    }
  }
  if (!(options_.epsilon > 0) || !std::isfinite(options_.epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("epsilon must be positive, got ", options_.epsilon));
  }
  if (!(options_.weight_decay >= 0) || !std::isfinite(options_.weight_decay)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "weight_decay must be finite and non-negative, got ",
        options_.weight_decay));
  }
  return absl::OkStatus();
}

Output Sgd::AddUpdate(const UpdateContext& c) {
  return ApplySgd(c.variable, c.gradient, c.learning_rate, c.node_name);
}

Output Momentum::AddUpdate(const UpdateContext& c) {
  Output accum = AddSlot(c, "momentum");
  return ApplyMomentum(c.variable, accum, c.gradient, c.learning_rate,
                       momentum_, nesterov_, c.node_name);
}

Output Adam::AddUpdate(const UpdateContext& c) {
  Output m = AddSlot(c, "adam_m");
  Output v = AddSlot(c, "adam_v");
  const bool decayed =
      options_.weight_decay != 0 &&
      (!options_.decay_filter || options_.decay_filter(c.variable));
  if (decayed || c.momentum.valid()) {
    Output beta1 = c.momentum.valid()
                       ? c.momentum
                       : c.builder->Constant(
                             Tensor::Scalar(options_.beta1),
                             c.builder->UniqueName(absl::StrCat(
                                 c.variable.name(), "/adam_beta1")));
    return ApplyAdamW(c.variable, m, v, c.gradient, c.learning_rate,
                      c.iterations, beta1, decayed ? options_.weight_decay : 0,
                      options_.beta2, options_.epsilon, c.node_name);
  }
  return ApplyAdam(c.variable, m, v, c.gradient, c.learning_rate,
                   c.iterations, options_.beta1, options_.beta2,
                   options_.epsilon, c.node_name);
}

WeightDecayFilter ExcludeFromWeightDecay(std::vector<Output> excluded) {
  return [excluded = std::move(excluded)](const Output& variable) {
    for (const Output& e : excluded) {
      if (e.builder() == variable.builder() &&
          e.ref().node == variable.ref().node) {
        return false;
      }
    }
    return true;
  };
}

WeightDecayFilter DecayOnlyMatrices() {
  return [](const Output& variable) { return variable.shape().rank() >= 2; };
}

absl::StatusOr<Output> AddL2Regularization(Output loss,
                                           const std::vector<Output>& weights,
                                           float l2) {
  if (!loss.valid()) {
    return absl::InvalidArgumentError(
        "AddL2Regularization: the loss is not a valid value");
  }
  GraphBuilder* b = loss.builder();
  NABLA_RETURN_IF_ERROR(b->status());
  if (loss.dtype() != DType::kF32 || loss.shape().rank() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AddL2Regularization: the loss must be an f32 scalar, got ",
        loss.spec().ToString()));
  }
  if (!std::isfinite(l2) || l2 < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AddL2Regularization: l2 must be finite and non-negative, got ", l2));
  }
  if (weights.empty()) {
    return absl::InvalidArgumentError("AddL2Regularization: no weights");
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!weights[i].valid() || weights[i].builder() != b ||
        weights[i].dtype() != DType::kF32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "AddL2Regularization: weight ", i,
          " is not a valid f32 value of the loss's graph"));
    }
  }
  const std::string prefix = absl::StrCat(loss.name(), "/l2");
  Output total;
  for (const Output& w : weights) {
    Output squares = Sum(Mul(w, w, b->UniqueName(prefix + "/square")), {},
                         false, b->UniqueName(prefix + "/sum"));
    total = total.valid() ? Add(total, squares, b->UniqueName(prefix + "/add"))
                          : squares;
  }
  Output coefficient =
      b->Constant(Tensor::Scalar(l2), b->UniqueName(prefix + "/lambda"));
  Output penalty = Mul(coefficient, total, b->UniqueName(prefix + "/penalty"));
  Output regularized =
      Add(loss, penalty, b->UniqueName(prefix + "/regularized"));
  NABLA_RETURN_IF_ERROR(b->status());
  return regularized;
}

absl::Status SetLearningRate(Session* session, absl::string_view scope,
                             float learning_rate) {
  if (!std::isfinite(learning_rate) || learning_rate < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the learning rate must be finite and non-negative, got ",
        learning_rate));
  }
  NABLA_RETURN_IF_ERROR(FindLearningRate(*session, scope).status());
  return session->variables().Assign(absl::StrCat(scope, "/learning_rate"),
                                     Tensor::Scalar(learning_rate));
}

absl::StatusOr<float> GetLearningRate(const Session& session,
                                      absl::string_view scope) {
  NABLA_ASSIGN_OR_RETURN(const Tensor* value,
                         FindLearningRate(session, scope));
  return value->data<float>()[0];
}

absl::StatusOr<std::vector<NodeOutput>> TrainTargets(const Graph& graph,
                                                     absl::string_view scope) {
  std::vector<NodeOutput> targets;
  std::string prefix = absl::StrCat(scope, "/update/");
  for (int id = 0; id < graph.num_nodes(); ++id) {
    if (absl::StartsWith(graph.node(id).name, prefix)) {
      targets.push_back(NodeOutput{id, 0});
    }
  }
  absl::StatusOr<int> increment =
      graph.FindNode(absl::StrCat(scope, "/increment"));
  if (targets.empty() || !increment.ok()) {
    return absl::NotFoundError(absl::StrCat(
        "the graph has no training step with scope '", scope, "'"));
  }
  targets.push_back(NodeOutput{*increment, 0});
  return targets;
}

}  // namespace nabla
