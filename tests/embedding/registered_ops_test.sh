#!/usr/bin/env bash
# Checks that a program linking //:nabla statically sees an op of every
# family in the registry ($1 is tests/embedding:registered_ops).
set -euo pipefail
ops=$("$1")
missing=0
for op in Placeholder Variable Const Add Cast Sum Reshape Flatten Relu LeakyRelu \
    Dense MatMul Conv2DWithBias MaxPool2D AvgPool2D Softmax LogSoftmax \
    SoftmaxCrossEntropy ArgMax Accuracy ApplyAdam ReluGrad Conv2DBackpropFilter; do
  if ! grep -qx "$op" <<< "$ops"; then
    echo "FAIL: $op is not registered" >&2
    missing=1
  fi
done
echo "$(wc -l <<< "$ops") ops registered"
exit $missing
