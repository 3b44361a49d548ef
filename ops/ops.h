// Every op function of nabla, for code that builds models.

#ifndef NABLA_OPS_OPS_H_
#define NABLA_OPS_OPS_H_

#include "ops/activations.h"  // IWYU pragma: export
#include "ops/arith.h"        // IWYU pragma: export
#include "ops/conv.h"         // IWYU pragma: export
#include "ops/dense.h"        // IWYU pragma: export
#include "ops/dropout.h"      // IWYU pragma: export
#include "ops/losses.h"       // IWYU pragma: export
#include "ops/metrics.h"      // IWYU pragma: export
#include "ops/normalization.h"  // IWYU pragma: export
#include "ops/optimizers.h"   // IWYU pragma: export
#include "ops/pool.h"         // IWYU pragma: export
#include "ops/quantized.h"    // IWYU pragma: export
#include "ops/shape_ops.h"    // IWYU pragma: export
#include "ops/softmax.h"      // IWYU pragma: export

#endif  // NABLA_OPS_OPS_H_
