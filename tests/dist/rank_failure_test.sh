#!/bin/bash
# A rank that dies, hangs or builds another graph ends the whole job, with a
# message, within a bounded time.
set -u
. "$(dirname "$0")/mpi_env.sh"
# 10 epochs of 5 steps; rank 1 fails after epoch 2.
RUN=(--steps=50 --steps_per_epoch=5 --fail_rank=1 --fail_after_epoch=2)

elapsed() { echo $(( $(date +%s) - $1 )); }

start=$(date +%s)
out=$(mpi -np 2 "$DIST_TRAIN" "${RUN[@]}" --failure=die 2>&1)
rc=$?
t=$(elapsed $start)
[ $rc -ne 0 ] || fail "the job succeeded although rank 1 was killed"
[ $rc -ne 124 ] || fail "the job hung after rank 1 was killed"
grep -q 'rank 1 with PID .* exited on signal 9' <<<"$out" ||
  fail "no message about the killed rank:"$'\n'"$out"
grep -q '^rank 0: 50 steps' <<<"$out" && fail "rank 0 finished alone"
[ "$t" -le 30 ] || fail "the job took $t s to end after a rank died"
echo "killed rank: job ended in ${t} s with exit code $rc"

start=$(date +%s)
out=$(mpi -np 2 "$DIST_TRAIN" "${RUN[@]}" --failure=hang --timeout=3 2>&1)
rc=$?
t=$(elapsed $start)
[ $rc -ne 0 ] || fail "the job succeeded although rank 1 hung"
grep -q 'nabla dist: rank 0 of 2 .*did not complete within 3s' <<<"$out" ||
  fail "no timeout message from rank 0:"$'\n'"$out"
[ "$t" -le 20 ] || fail "the job took $t s to end with a 3 s timeout"
echo "hung rank: rank 0 timed out, job ended in ${t} s with exit code $rc"

out=$(mpi -np 2 "$DIST_TRAIN" --fail_rank=1 --failure=graph 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "ranks with different graphs trained together"
n=$(grep -c 'rank 1 differs from rank 0 in its graph' <<<"$out")
[ "$n" = 2 ] || fail "expected the mismatch message on both ranks, saw $n:"$'\n'"$out"
echo "different graph: both ranks said so, exit code $rc"
echo PASS
