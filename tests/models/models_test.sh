#!/usr/bin/env bash
# The example's models (--model=lecture|fast|best|best_strided|best_gap) run
# end to end on subsets of the MNIST files shipped in data/mnist, as CI's
# short versions of the full runs in README.md: each must reach a real
# accuracy, the best model's saved folder must predict and export, and a run
# of it resumed from its checkpoint must end exactly where a straight run
# does (dropout masks, augmented images and the one-cycle schedule all
# resume).
#
#   models_test.sh MNIST NABLA
set -uo pipefail
mnist=$1
nabla=$2
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0

check() {  # check NAME CONDITION-COMMAND...
  local name=$1
  shift
  if "$@"; then
    echo "PASS: $name"
  else
    echo "FAIL: $name"
    failures=$((failures + 1))
  fi
}

accuracy() {  # the "test accuracy X%" a run printed
  awk '/^test accuracy / { sub("%", "", $3); print $3 }' "$1"
}

at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a >= b) }'; }

# fast: one epoch of its one-cycle recipe on 12,000 images.
"$mnist" --model=fast --train_limit=12000 --test_limit=2000 --threads=2 \
  >"$tmp/fast.log" 2>&1
cat "$tmp/fast.log"
check "fast model reaches 95% on 2000 test images after its epoch on 12000 (got $(accuracy "$tmp/fast.log")%)" \
  at_least "$(accuracy "$tmp/fast.log")" 95.0

# lecture: unchanged, one epoch on 6,000 images.
"$mnist" --model=lecture --epochs=1 --train_limit=6000 --test_limit=2000 \
  --threads=2 >"$tmp/lecture.log" 2>&1
check "lecture model reaches 90% after one epoch on 6000 (got $(accuracy "$tmp/lecture.log")%)" \
  at_least "$(accuracy "$tmp/lecture.log")" 90.0

# best: augmentation, dropout, batch normalization, AdamW with one-cycle
# and label smoothing, 3 epochs on 5,000 images; then the same run stopped
# after epoch 1 and resumed.
best_flags=(--model=best --epochs=3 --train_limit=5000 --test_limit=1000 --threads=2)
"$mnist" "${best_flags[@]}" --save_dir="$tmp/best" \
  --metrics_out="$tmp/best.json" >"$tmp/best.log" 2>&1
cat "$tmp/best.log"
check "best model reaches 93% after 3 epochs on 5000 (got $(accuracy "$tmp/best.log")%)" \
  at_least "$(accuracy "$tmp/best.log")" 93.0
check "best model's training waited for augmented images" \
  grep -q '^augmented images: training waited' "$tmp/best.log"

"$mnist" "${best_flags[@]}" --epochs=1 --schedule_epochs=3 \
  --save_dir="$tmp/resumed" >"$tmp/half.log" 2>&1
"$mnist" --resume="$tmp/resumed" --save_dir="$tmp/resumed" --epochs=3 \
  --threads=2 --train_limit=5000 --test_limit=1000 \
  --metrics_out="$tmp/resumed.json" >"$tmp/resumed.log" 2>&1
cat "$tmp/resumed.log"
test_line() { grep -E '"test_(loss|accuracy)"' "$1"; }
check "best model resumed after epoch 1 ends exactly as the straight run" \
  diff <(test_line "$tmp/best.json") <(test_line "$tmp/resumed.json")
check "resuming the best model with another --model is an error naming both" \
  bash -c "'$mnist' --resume='$tmp/resumed' --model=fast --epochs=3 \
    --train_limit=5000 --test_limit=1000 2>&1 | grep -q 'model=fast differs from the best model'"

# best_strided and best_gap, best's ensemble partners: the same short run
# each; then the three together as an ensemble of different networks,
# scored on the full test set: each model and the ensemble must be
# reported, the ensemble at 95% or more.
for partner in strided gap; do
  "$mnist" --model=best_$partner --epochs=3 --train_limit=5000 \
    --test_limit=1000 --threads=2 --save_dir="$tmp/$partner" \
    >"$tmp/$partner.log" 2>&1
  cat "$tmp/$partner.log"
  check "best_$partner model reaches 93% after 3 epochs on 5000 (got $(accuracy "$tmp/$partner.log")%)" \
    at_least "$(accuracy "$tmp/$partner.log")" 93.0
done
"$nabla" evaluate --model="$tmp/best,$tmp/strided,$tmp/gap" \
  --data_dir=data/mnist >"$tmp/trio.txt" 2>&1
cat "$tmp/trio.txt"
trio=$(awk '/^ensemble of 3: / { sub("%", "", $4); print $4 }' "$tmp/trio.txt")
trio_scored() {  # each model's line, and the ensemble's at 95% or more
  grep -q "^$tmp/best: " "$tmp/trio.txt" &&
    grep -q "^$tmp/strided: " "$tmp/trio.txt" &&
    grep -q "^$tmp/gap: " "$tmp/trio.txt" && at_least "$trio" 95.0
}
check "best, best_strided and best_gap evaluate each, and as an ensemble of 3 at 95% or more (got $trio%)" \
  trio_scored

# The saved best model predicts (in inference mode: the same answer twice)
# and exports to ONNX.
"$nabla" predict --model="$tmp/best" data/digits/0007_7.png >"$tmp/p1.txt" 2>&1
"$nabla" predict --model="$tmp/best" data/digits/0007_7.png >"$tmp/p2.txt" 2>&1
cat "$tmp/p1.txt"
check "the saved best model predicts, the same twice" \
  bash -c "grep -q '0007_7.png: ' '$tmp/p1.txt' && cmp -s '$tmp/p1.txt' '$tmp/p2.txt'"
"$nabla" export-onnx --model="$tmp/best" "$tmp/best.onnx" >"$tmp/onnx.txt" 2>&1
cat "$tmp/onnx.txt"
check "the saved best model exports to ONNX" test -s "$tmp/best.onnx"
"$nabla" export-onnx --model="$tmp/gap" "$tmp/gap.onnx" >"$tmp/gap_onnx.txt" 2>&1
cat "$tmp/gap_onnx.txt"
check "the saved best_gap model (global average pooling) exports to ONNX" \
  test -s "$tmp/gap.onnx"

echo "$failures failed"
exit $((failures > 0))
