# Sourced by the tests in this folder: what Open MPI 4.1 needs to run
# under `bazel test` (as root, more ranks than cores, in the sandbox).
#
# - OpenMP: see OMP_NUM_THREADS below.
# - Root: mpirun refuses root unless both variables are set (or
#   --allow-run-as-root is given, which the tests also pass).
# - Oversubscription: CI has 2 cores; the 4-rank run needs more slots.
# - The session directory holds Unix sockets whose path must stay under
#   108 bytes; Bazel's TEST_TMPDIR is far longer, so a short folder in
#   /tmp is made and removed.
# - vader's single-copy mechanism (CMA) needs ptrace rights that
#   containers often lack; copying through shared memory always works.
export OMPI_ALLOW_RUN_AS_ROOT=1
# One OpenMP thread per rank: GOMP threads spin while waiting, and four
# ranks of two spinning threads on two cores ran 30 times slower.
export OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export HOME="${HOME:-${TEST_TMPDIR:-/tmp}}"
MPI_TMP="$(mktemp -d /tmp/nabla-mpi.XXXXXX)"
export TMPDIR="$MPI_TMP"
trap 'rm -rf "$MPI_TMP"' EXIT

MPIRUN=/usr/bin/mpirun
if [ ! -x "$MPIRUN" ]; then
  echo "FAIL: $MPIRUN is missing; install openmpi-bin (tools/setup.sh)" >&2
  exit 1
fi
mpi() { timeout 120 "$MPIRUN" --allow-run-as-root --oversubscribe "$@"; }

DIST_TRAIN="${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-nabla}/tests/dist/dist_train"
[ -x "$DIST_TRAIN" ] || DIST_TRAIN="$(dirname "$0")/dist_train"

fail() { echo "FAIL: $*" >&2; exit 1; }
