// int8 inference ops: quantize, dequantize, quantized convolution and inner product (issue 14).
// (Being written; the family is registered in ops/BUILD.bazel already.)

#ifndef NABLA_OPS_QUANTIZED_H_
#define NABLA_OPS_QUANTIZED_H_

namespace nabla {}  // namespace nabla

#endif  // NABLA_OPS_QUANTIZED_H_
