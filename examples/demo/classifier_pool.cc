#include "examples/demo/classifier_pool.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace nabla {

ClassifierPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      classifier_(std::exchange(other.classifier_, nullptr)) {}

ClassifierPool::Lease& ClassifierPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    classifier_ = std::exchange(other.classifier_, nullptr);
  }
  return *this;
}

ClassifierPool::Lease::~Lease() { Release(); }

void ClassifierPool::Lease::Release() {
  if (pool_ != nullptr) pool_->Return(classifier_);
  pool_ = nullptr;
  classifier_ = nullptr;
}

absl::StatusOr<std::unique_ptr<ClassifierPool>> ClassifierPool::Create(
    const std::string& model_dir, int size) {
  if (size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a classifier pool needs at least 1 session, not ", size));
  }
  auto pool = std::unique_ptr<ClassifierPool>(new ClassifierPool());
  const MnistDigit blank;
  for (int i = 0; i < size; ++i) {
    NABLA_ASSIGN_OR_RETURN(std::unique_ptr<DigitClassifier> classifier,
                           DigitClassifier::Load(model_dir));
    // Plans compile on first use: compile the one-digit prediction now, so
    // that no request pays for it. (Explain is warmed by its first caller;
    // a model without the lecture's conv1 has none and still predicts.)
    NABLA_RETURN_IF_ERROR(classifier->Predict({blank}).status());
    pool->all_.push_back(std::move(classifier));
  }
  absl::MutexLock lock(&pool->mutex_);
  for (auto& classifier : pool->all_) pool->free_.push_back(classifier.get());
  return pool;
}

absl::StatusOr<ClassifierPool::Lease> ClassifierPool::Acquire(
    absl::Duration timeout) {
  absl::MutexLock lock(&mutex_);
  auto has_free = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return !free_.empty();
  };
  if (!mutex_.AwaitWithTimeout(absl::Condition(&has_free), timeout)) {
    return absl::UnavailableError(absl::StrCat(
        "all ", all_.size(), " sessions stayed busy for ",
        absl::FormatDuration(timeout), "; try again"));
  }
  DigitClassifier* classifier = free_.back();
  free_.pop_back();
  return Lease(this, classifier);
}

void ClassifierPool::Return(DigitClassifier* classifier) {
  absl::MutexLock lock(&mutex_);
  free_.push_back(classifier);
}

}  // namespace nabla
