// Dropout with a counter-based mask (issue 12).
// (Being written; the family is registered in ops/BUILD.bazel already.)

#ifndef NABLA_OPS_DROPOUT_H_
#define NABLA_OPS_DROPOUT_H_

namespace nabla {}  // namespace nabla

#endif  // NABLA_OPS_DROPOUT_H_
