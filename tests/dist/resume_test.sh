#!/bin/bash
# A 2-rank run saved after 5 epochs and resumed to 10 ends with the same
# weights, bit for bit, as one that ran 10 epochs straight; resuming with a
# checkpoint on one rank only is refused on every rank.
set -u
. "$(dirname "$0")/mpi_env.sh"
W="$MPI_TMP"
RUN=(--steps_per_epoch=5 --batch=128)

out=$(mpi -np 2 "$DIST_TRAIN" "${RUN[@]}" --steps=50 --out="$W/straight.bin" 2>&1) ||
  fail "straight run: $out"
out=$(mpi -np 2 "$DIST_TRAIN" "${RUN[@]}" --steps=25 --checkpoint="$W/half.ckpt" 2>&1) ||
  fail "first half: $out"
grep -q '^rank 0: 25 steps' <<<"$out" || fail "the first half did not stop at step 25:"$'\n'"$out"
out=$(mpi -np 2 "$DIST_TRAIN" "${RUN[@]}" --steps=50 --resume_from="$W/half.ckpt" \
      --out="$W/resumed.bin" 2>&1) || fail "resumed run: $out"
sums=$(grep -o 'checksum [0-9a-f]*' <<<"$out" | sort -u | wc -l)
[ "$sums" = 1 ] || fail "ranks differ after resuming:"$'\n'"$out"
cmp "$W/straight.bin" "$W/resumed.bin" || fail "the resumed run differs from the straight one"
echo "resumed after 5 of 10 epochs: bit-identical to the straight run"

# Rank 1 starts fresh while rank 0 resumes: the state fingerprints differ.
out=$(mpi -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 0 ]; then exec "$0" "$@" --resume_from="'"$W/half.ckpt"'"; else exec "$0" "$@"; fi' \
      "$DIST_TRAIN" "${RUN[@]}" --steps=50 2>&1) && fail "ranks in different states trained together"
n=$(grep -c 'rank 1 differs from rank 0 in its training state' <<<"$out")
[ "$n" = 2 ] || fail "expected the state mismatch on both ranks, saw $n:"$'\n'"$out"
echo "one rank resumed, one fresh: refused on both"
echo PASS
