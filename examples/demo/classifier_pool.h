// A fixed pool of DigitClassifiers for a server that answers requests on
// many threads. A DigitClassifier (its Session and plans) is not
// thread-safe, so each request leases one for the duration of its run and
// gives it back; a request that finds them all busy waits, up to a timeout.
// The pool is sized to the cores rather than to the server's threads: a
// lecture-model inference takes well under a millisecond, so more sessions
// than cores would only add memory (about 15 MB each) and contention.
//
//   NABLA_ASSIGN_OR_RETURN(auto pool, ClassifierPool::Create(model_dir, 2));
//   NABLA_ASSIGN_OR_RETURN(ClassifierPool::Lease lease,
//                          pool->Acquire(absl::Seconds(5)));
//   NABLA_ASSIGN_OR_RETURN(auto predictions, lease->Predict({digit}));

#ifndef NABLA_EXAMPLES_DEMO_CLASSIFIER_POOL_H_
#define NABLA_EXAMPLES_DEMO_CLASSIFIER_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "infer/digit_classifier.h"

namespace nabla {

class ClassifierPool {
 public:
  // Lease is exclusive use of one classifier; it returns it to the pool
  // when destroyed. Movable, not copyable.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    DigitClassifier* operator->() const { return classifier_; }
    DigitClassifier& operator*() const { return *classifier_; }

   private:
    friend class ClassifierPool;
    Lease(ClassifierPool* pool, DigitClassifier* classifier)
        : pool_(pool), classifier_(classifier) {}
    void Release();

    ClassifierPool* pool_ = nullptr;
    DigitClassifier* classifier_ = nullptr;
  };

  // Create loads the model at `model_dir` `size` times (size >= 1) and
  // compiles each one's plan for a single digit.
  // Errors are those of DigitClassifier::Load; InvalidArgument for a size
  // below 1.
  static absl::StatusOr<std::unique_ptr<ClassifierPool>> Create(
      const std::string& model_dir, int size);

  // Acquire leases a free classifier, waiting up to `timeout` for one;
  // Unavailable if none came free in time. Every lease must be destroyed
  // before the pool.
  absl::StatusOr<Lease> Acquire(absl::Duration timeout);

  int size() const { return static_cast<int>(all_.size()); }

 private:
  ClassifierPool() = default;
  void Return(DigitClassifier* classifier);

  std::vector<std::unique_ptr<DigitClassifier>> all_;
  absl::Mutex mutex_;
  std::vector<DigitClassifier*> free_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace nabla

#endif  // NABLA_EXAMPLES_DEMO_CLASSIFIER_POOL_H_
