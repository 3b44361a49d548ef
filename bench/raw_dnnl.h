// Raw oneDNN 2.6 baselines for nabla's benchmarks: the computations the op
// and end-to-end benchmarks time, written directly on oneDNN primitives the
// way a careful oneDNN user would, so that nabla's overhead shows as a
// ratio. Everything (primitive descriptors, primitives, buffers, reorders,
// argument maps) is prepared when the object is made; Run() only calls
// execute(). As in oneDNN's cnn_training_f32 example, convolutions and
// pooling are described with format `any` and the user's plain NCHW/OIHW
// buffers are reordered in and out at the edges where the primitive chose
// another layout.
//
//   NABLA_ASSIGN_OR_RETURN(std::unique_ptr<RawOp> conv,
//                          RawConvForward(/*batch=*/128, kLectureConv1));
//   for (...) NABLA_RETURN_IF_ERROR(conv->Run());
//
//   NABLA_ASSIGN_OR_RETURN(std::unique_ptr<RawLectureModel> model,
//                          RawLectureModel::Create(128, /*training=*/true));
//   NABLA_RETURN_IF_ERROR(model->Run());  // forward, backward, Adam update

#ifndef NABLA_BENCH_RAW_DNNL_H_
#define NABLA_BENCH_RAW_DNNL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace nabla {
namespace bench {

// RawSteps: a prepared sequence of primitive executions (and, where oneDNN
// has no primitive, small hand-written loops), run in order on nabla's CPU
// stream.
class RawSteps {
 public:
  using Args = std::unordered_map<int, dnnl::memory>;

  void Add(dnnl::primitive primitive, Args args);
  void AddLoop(std::function<void()> loop);
  // Adds a reorder from `from` to `to` (both allocated).
  void AddReorder(const dnnl::memory& from, const dnnl::memory& to);
  // `user` as the primitive wants it: `user` itself when `want` is its
  // layout, otherwise a new buffer in `want` filled by a reorder added here.
  dnnl::memory Into(const dnnl::memory& user, const dnnl::memory::desc& want);
  // A buffer in `have` for a primitive to write, reordered into `user` by
  // the step `Out()` adds later; `user` itself when the layouts agree.
  dnnl::memory ScratchFor(const dnnl::memory& user,
                          const dnnl::memory::desc& have);
  // Adds the reorder from what ScratchFor returned into `user`, if any.
  void Out(const dnnl::memory& written, const dnnl::memory& user);

  // Executes every step; dnnl::error becomes a Status.
  absl::Status Run();
  int size() const { return static_cast<int>(steps_.size()); }

 private:
  struct Step {
    dnnl::primitive primitive;
    Args args;
    std::function<void()> loop;
  };
  std::vector<Step> steps_;
};

// RawOp: one op's raw computation with plain user buffers at its edges.
// user_inputs() and user_outputs() are those buffers (f32 unless noted), in
// the order each factory documents: a forward's inputs are its op case's
// inputs, a backward's are those and then dy, and a backward's outputs are
// the gradients of the differentiated inputs in order, so that a test can
// feed nabla the same values and compare.
class RawOp {
 public:
  absl::Status Run() { return steps_.Run(); }
  RawSteps& steps() { return steps_; }
  std::vector<dnnl::memory>& user_inputs() { return inputs_; }
  std::vector<dnnl::memory>& user_outputs() { return outputs_; }

 private:
  RawSteps steps_;
  std::vector<dnnl::memory> inputs_;
  std::vector<dnnl::memory> outputs_;
};

using RawOpOr = absl::StatusOr<std::unique_ptr<RawOp>>;

// A valid, stride-1 convolution with bias and fused ReLU, as the lecture's.
struct RawConvSpec {
  int64_t channels, height, width;  // input C, H, W
  int64_t filters, kernel;          // O and KH = KW
};
inline constexpr RawConvSpec kLectureConv1{1, 28, 28, 32, 5};
inline constexpr RawConvSpec kLectureConv2{32, 12, 12, 64, 5};

// Forward: inputs x [N,C,H,W], w [O,C,K,K], b [O]; output y.
RawOpOr RawConvForward(int64_t batch, const RawConvSpec& spec);
// Backward (ReLU's backward, then backward-weights with the bias gradient,
// and backward-data when `input_grad`): inputs x, w, b, dy (the forward's
// output, which ReLU's backward reads, is computed from them at creation);
// outputs [dx,] dw, db.
RawOpOr RawConvBackward(int64_t batch, const RawConvSpec& spec,
                        bool input_grad);

// Max pooling with a square window and the same stride, in training mode
// (with oneDNN's workspace for the backward), run in the blocked layout
// (nChw8c on AVX2) between plain NCHW edges: on plain NCHW oneDNN 2.6 pools
// several times slower.
struct RawPoolSpec {
  int64_t channels, height, width, window;
};
inline constexpr RawPoolSpec kLecturePool1{32, 24, 24, 2};
inline constexpr RawPoolSpec kLecturePool2{64, 8, 8, 2};

// Forward: input x; outputs y and the workspace (u8, plain NCHW).
RawOpOr RawMaxPoolForward(int64_t batch, const RawPoolSpec& spec);
// Backward: inputs x, dy (the workspace comes from a forward run made at
// creation); output dx.
RawOpOr RawMaxPoolBackward(int64_t batch, const RawPoolSpec& spec);

// x [N,K] · w [K,M] + b, optionally with ReLU, on oneDNN's matmul.
struct RawDenseSpec {
  int64_t in, out;
  bool relu;
};
inline constexpr RawDenseSpec kLectureDense1{1024, 1000, true};
inline constexpr RawDenseSpec kLectureDense2{1000, 10, false};

// Forward: inputs x, w, b; output y.
RawOpOr RawDenseForward(int64_t batch, const RawDenseSpec& spec);
// Backward: ReLU's backward if any, dx = dz·wᵀ and dw = xᵀ·dz (matmul on
// transposed strides), db = ones·dz (matmul: oneDNN 2.6's reduction
// primitive has only its reference implementation here). Inputs x, w, b,
// dy; outputs dx, dw, db.
RawOpOr RawDenseBackward(int64_t batch, const RawDenseSpec& spec);

// Elementwise activations on `elements` values: oneDNN's relu (with
// `alpha` for leaky ReLU), logistic or tanh; the backward uses the
// *_use_dst_for_bwd form, as nabla does. Forward: input x, output y.
// Backward: inputs x, dy; output dx (y comes from a forward run at
// creation).
RawOpOr RawEltwiseForward(int64_t elements, dnnl::algorithm algorithm,
                          float alpha);
RawOpOr RawEltwiseBackward(int64_t elements, dnnl::algorithm algorithm,
                           float alpha);

// Softmax over the last axis of [rows, classes]. Forward: x -> y.
// Backward: inputs x, dy; output dx (y from a forward run at creation).
RawOpOr RawSoftmaxForward(int64_t rows, int64_t classes);
RawOpOr RawSoftmaxBackward(int64_t rows, int64_t classes);

// Mean softmax cross-entropy of [rows, classes] logits against i32 labels:
// oneDNN's logsoftmax, then a loop for the loss and for the gradient
// (softmax - one_hot) / rows, which the forward keeps for the backward.
// Forward: inputs logits, labels (s32); outputs loss [1], backprop.
// Backward: binary multiply of the kept gradient by dloss: inputs backprop,
// dloss [1,1]; output dlogits.
RawOpOr RawSoftmaxCrossEntropyForward(int64_t rows, int64_t classes);
RawOpOr RawSoftmaxCrossEntropyBackward(int64_t rows, int64_t classes);

// Batch normalization over the channels of plain NCHW [N, C, H, W] with
// scale and shift (use_scale | use_shift) and epsilon 1e-3, as nabla's
// BatchNorm runs on a plain input. The forward is the inference form
// (use_global_stats, running mean 0 and variance 1, a fresh layer's), which
// is what a forward-only nabla plan runs: inputs x, gamma, beta; output y.
// The backward is the training one (prop_kind backward, with the batch
// statistics of a training forward run at creation): inputs x, gamma,
// beta, dy; outputs dx, dgamma, dbeta.
struct RawBatchNormSpec {
  int64_t channels, height, width;
};
inline constexpr RawBatchNormSpec kLectureConv1Output{32, 24, 24};
RawOpOr RawBatchNormForward(int64_t batch, const RawBatchNormSpec& spec);
RawOpOr RawBatchNormBackward(int64_t batch, const RawBatchNormSpec& spec);

// RawLectureModel: the lecture's whole model on oneDNN, either one training
// step (forward in training mode, mean softmax cross-entropy, backward,
// Keras's Adam update of the 8 variables) or inference (forward ending in
// softmax). It applies what /work/shared/notes/onednn-2.6-notes.md found:
// weights live in the layouts the primitives chose (so Adam updates them
// there and inference reorders them once), the first convolution's
// backward-weights reads its plain NCHW source, and the inner products'
// backward-data reuse the forward's weights layout.
class RawLectureModel {
 public:
  static absl::StatusOr<std::unique_ptr<RawLectureModel>> Create(
      int64_t batch, bool training);

  // One training step, or one inference of the batch.
  absl::Status Run() { return steps_.Run(); }
  // The last step's mean loss (training only).
  float loss() const { return loss_; }
  int num_steps() const { return steps_.size(); }

 private:
  RawLectureModel() = default;
  friend class RawLectureModelBuilder;

  RawSteps steps_;
  float loss_ = 0;
  int64_t iterations_ = 0;
  std::vector<dnnl::memory> keep_;  // buffers only loops refer to
};

}  // namespace bench
}  // namespace nabla

#endif  // NABLA_BENCH_RAW_DNNL_H_
