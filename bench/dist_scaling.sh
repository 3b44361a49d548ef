#!/bin/bash
# Data-parallel scaling on one bigger machine: 1, 2, 4 and 8 processes of
# the lecture model, each with an equal share of the cores, weak scaling
# (128 images per process) and strong scaling (global batch 128).
#
# Builds nothing. Run from the repository root on a machine where
# bazel-bin/bench/dist/dist_bench was built (bazel build -c opt
# //bench/dist:dist_bench) or carried along, with Open MPI 4.1's runtime
# (openmpi-bin: mpirun; libopenmpi3: libmpi.so.40) installed, because the
# binary links libmpi. No network is needed.
#
#   bench/dist_scaling.sh [steps] [max_processes]
set -u
STEPS="${1:-30}"
MAX="${2:-8}"
BENCH="${DIST_BENCH:-bazel-bin/bench/dist/dist_bench}"
die() { echo "dist_scaling.sh: $*" >&2; exit 1; }
[ -x "$BENCH" ] || die "$BENCH is missing: build it (bazel build -c opt //bench/dist:dist_bench) or carry bazel-bin/bench/dist along"
command -v mpirun >/dev/null ||
  die "mpirun is not installed on this machine: Open MPI (Debian's openmpi-bin and libopenmpi3) is needed to run several processes; nothing was measured"
missing=$(ldd "$BENCH" 2>/dev/null | grep 'not found') &&
  die "$BENCH cannot load its libraries:"$'\n'"$missing"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
CORES=$(nproc)
echo "# $(date -u '+%F %T UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"

RESULTS="$(mktemp)"
trap 'rm -f "$RESULTS"' EXIT
for p in 1 2 4 8; do
  [ "$p" -le "$MAX" ] || continue
  threads=$(( CORES / p )); [ "$threads" -ge 1 ] || threads=1
  for mode in weak strong; do
    if [ $mode = weak ]; then batch=$(( 128 * p )); else batch=128; fi
    for overlap in true false; do
      OMP_NUM_THREADS=$threads timeout 600 mpirun --oversubscribe --bind-to none \
        --map-by slot -np $p "$BENCH" --threads=$threads --batch=$batch \
        --steps="$STEPS" --overlap=$overlap --label="$mode" >>"$RESULTS" 2>&1 ||
        { echo "dist_scaling.sh: the $p-process $mode run failed:" >&2; tail -20 "$RESULTS" >&2; exit 1; }
      tail -1 "$RESULTS"
    done
  done
done

/usr/bin/python3 - "$RESULTS" <<'PY'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    if "images_per_s=" not in line:
        continue
    f = dict(re.findall(r"(\w+)=([\d.]+)", line))
    rows[(line.split()[0], int(f["processes"]), int(f["overlap"]))] = f
for mode in ("weak", "strong"):
    print(f"\n{mode} scaling ({'128 images per process' if mode == 'weak' else 'global batch 128'})")
    print("| processes | threads each | images/s | speed-up | step ms | exposed comm ms | in flight ms | hidden | images/s without overlap |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = rows.get((mode, 1, 1))
    for p in (1, 2, 4, 8):
        on, off = rows.get((mode, p, 1)), rows.get((mode, p, 0))
        if not on:
            continue
        ips = float(on["images_per_s"])
        hidden = ""
        if off and float(off["exposed_comm_ms"]) > 0:
            hidden = f"{100 * (1 - float(on['exposed_comm_ms']) / float(off['exposed_comm_ms'])):.0f}%"
        print(f"| {p} | {on['threads']} | {ips:.0f} | {ips / float(base['images_per_s']):.2f}x | "
              f"{float(on['step_ms']):.1f} | {float(on['exposed_comm_ms']):.2f} | "
              f"{float(on['inflight_comm_ms']):.2f} | {hidden} | "
              f"{float(off['images_per_s']) if off else 0:.0f} |")
PY
