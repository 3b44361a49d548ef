#!/usr/bin/env bash
# CI: every test under AddressSanitizer and UndefinedBehaviorSanitizer
# (`bazel test --config=asan //...`). That includes //tests/fuzz, which
# replays every fuzz target's committed corpus and regression inputs, so a
# crash the fuzzers once found cannot come back unnoticed.
#
# Prints one "PASS asan //pkg:test" or "FAIL asan //pkg:test" line per test
# (and "FAIL asan build" when nothing could be tested), then the time taken.
# Extra arguments go to `bazel test`, e.g. `.ci/asan.sh --disk_cache=` for a
# cold, uncached run.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
bazel test --config=asan "$@" -- //... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
elapsed=$((SECONDS - start))

# Bazel's summary lines: "//tests:x   PASSED in 1.2s", "(cached) PASSED", ...
sed -nE 's#^(//[^ ]+) +(\(cached\) )?PASSED.*#PASS asan \1#p' "$log"
sed -nE 's#^(//[^ ]+) +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE).*#FAIL asan \1#p' "$log" |
  sort -u
if (( status != 0 )) && ! grep -qE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD|INCOMPLETE)' "$log"; then
  echo "FAIL asan build (bazel exited with $status before any test failed)"
fi
echo "asan: ${elapsed}s"
exit "$status"
