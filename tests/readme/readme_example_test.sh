#!/usr/bin/env bash
# Runs the README's example ($1) and checks it exits 0 having trained: it
# prints "step N: loss X" lines, and the last loss must be below the first.
set -euo pipefail
output=$("$1")
echo "$output"
first=$(echo "$output" | awk '/^step [0-9]+: loss / { print $4; exit }')
last=$(echo "$output" | awk '/^step [0-9]+: loss / { loss = $4 } END { print loss }')
if [[ -z $first || -z $last ]]; then
  echo "FAIL: the example printed no loss" >&2
  exit 1
fi
if ! awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }'; then
  echo "FAIL: the loss did not fall ($first -> $last)" >&2
  exit 1
fi
echo "PASS: loss $first -> $last"
