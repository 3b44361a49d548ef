#!/bin/bash
# Data-parallel measurements on this machine: 1 process x 2 threads against
# 2 processes x 1 thread (images/s), how much of the allreduce overlap hides,
# and the bucket size. Rounds interleave the configurations so that a change
# in the machine's load hits all of them alike.
#
#   bazel build -c opt //bench/dist:dist_bench
#   bench/dist_bench.sh [rounds] [steps]          # from the repository root
#
# Prints every run's line, then the median of each configuration.
set -eu
ROUNDS="${1:-3}"
STEPS="${2:-40}"
BENCH="${DIST_BENCH:-bazel-bin/bench/dist/dist_bench}"
[ -x "$BENCH" ] || { echo "dist_bench.sh: $BENCH is missing; bazel build -c opt //bench/dist:dist_bench" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "dist_bench.sh: mpirun is missing; install openmpi-bin" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Each rank on its own core; the communication thread shares it.
MPI=(mpirun --oversubscribe --bind-to core)
RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT

echo "# $(date -u '+%F %T UTC'), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  OMP_NUM_THREADS=2 "$BENCH" --threads=2 --steps="$STEPS" --label=1x2 | tee -a "$RESULTS"
  OMP_NUM_THREADS=1 "$BENCH" --threads=1 --steps="$STEPS" --label=1x1 | tee -a "$RESULTS"
  OMP_NUM_THREADS=1 "${MPI[@]}" -np 2 "$BENCH" --threads=1 --steps="$STEPS" --label=2x1 | tee -a "$RESULTS"
  OMP_NUM_THREADS=1 "${MPI[@]}" -np 2 "$BENCH" --threads=1 --steps="$STEPS" --overlap=false --label=2x1_no_overlap | tee -a "$RESULTS"
  for bucket in 0 262144 4194304 67108864; do
    OMP_NUM_THREADS=1 "${MPI[@]}" -np 2 "$BENCH" --threads=1 --steps="$STEPS" --bucket_bytes=$bucket --label=2x1_bucket_$bucket | tee -a "$RESULTS"
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$RESULTS" <<'PY'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label = line.split()[0]
    fields = dict(re.findall(r"(\w+)=([\d.]+)", line))
    runs.setdefault(label, []).append({k: float(v) for k, v in fields.items()})
med = lambda label, key: statistics.median(r[key] for r in runs[label])
print("\n| configuration | images/s (median) | range | step ms | exposed comm ms | in-flight comm ms |")
print("|---|---:|---|---:|---:|---:|")
for label in runs:
    ips = [r["images_per_s"] for r in runs[label]]
    print(f"| {label} | {med(label, 'images_per_s'):.0f} | {min(ips):.0f}-{max(ips):.0f} | "
          f"{med(label, 'step_ms'):.1f} | {med(label, 'exposed_comm_ms'):.2f} | "
          f"{med(label, 'inflight_comm_ms'):.2f} |")
if "2x1" in runs and "2x1_no_overlap" in runs:
    on, off = med("2x1", "exposed_comm_ms"), med("2x1_no_overlap", "exposed_comm_ms")
    print(f"\n2x1 / 1x2 images/s: {med('2x1', 'images_per_s') / med('1x2', 'images_per_s'):.2f}x")
    print(f"allreduce hidden behind backward: 1 - exposed with overlap / exposed without "
          f"= 1 - {on:.2f} / {off:.2f} = {100 * (1 - on / off):.0f}%")
    print(f"step time saved by overlap: {med('2x1_no_overlap', 'step_ms') - med('2x1', 'step_ms'):.2f} ms "
          f"of {off:.2f} ms of allreduce")
PY
