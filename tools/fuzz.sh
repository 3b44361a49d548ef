#!/usr/bin/env bash
# Builds one of nabla's fuzz targets with clang-14 and libFuzzer (ASan and
# UBSan on) and runs it for a while.
#
#   tools/fuzz.sh idx 1800                 # fuzz the IDX reader for 30 min
#   tools/fuzz.sh --keep-going checkpoint  # do not stop at the first crash
#   tools/fuzz.sh --list                   # the targets (tests/fuzz/*_fuzzer.cc)
#   tools/fuzz.sh idx 60 -- -max_len=65536 # extra flags go to libFuzzer
#
# The build goes through Bazel's --config=fuzz (.bazelrc) in an output base
# of its own, so it neither disturbs nor is disturbed by the normal gcc
# build. The fuzzer starts from the committed seeds (tests/fuzz/corpus/T,
# read only) and keeps what it finds in $NABLA_FUZZ_DIR/T/corpus (default
# /tmp/nabla-fuzz); crashes, leaks, timeouts and out-of-memory inputs land
# in $NABLA_FUZZ_DIR/T/ as crash-*, leak-*, timeout-*, oom-*. A fixed crash
# becomes a regression case: copy it to tests/fuzz/regressions/T/ and say
# in that folder's README.md what it was.
#
# $NABLA_FUZZ_BAZEL_FLAGS adds flags to the build, e.g. to switch off one
# sanitizer check in one file while its known bug awaits a fix:
#   NABLA_FUZZ_BAZEL_FLAGS=--per_file_copt=io/image.cc@-fno-sanitize=null,-fno-sanitize=object-size
#
# The fuzzer runs under `nice -n 19`; the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  sed -n '2,23s/^# \{0,1\}//p' "$0"
  exit 2
}

list_targets() {
  for f in tests/fuzz/*_fuzzer.cc; do
    basename "$f" _fuzzer.cc
  done
}

keep_going=0
while [[ $# -gt 0 && $1 == --* && $1 != -- ]]; do
  case $1 in
    --list) list_targets; exit 0 ;;
    --keep-going) keep_going=1 ;;
    --help) usage ;;
    *) echo "fuzz.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ $# -ge 1 ]] || usage
target=$1
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))
[[ ${1:-} == -- ]] && shift
if [[ ! -f tests/fuzz/${target}_fuzzer.cc ]]; then
  echo "fuzz.sh: no target '$target'; targets: $(list_targets | xargs)" >&2
  exit 2
fi
if ! command -v clang-14 >/dev/null; then
  echo "fuzz.sh: needs clang-14 and libclang-rt-14-dev (tools/setup.sh)" >&2
  exit 1
fi

# One output base per checkout, kept between runs.
output_base=${NABLA_FUZZ_OUTPUT_BASE:-$HOME/.cache/nabla-fuzz/$(echo "$root" | md5sum | cut -c1-12)}
bazel_fuzz=(bazel "--output_base=$output_base" --max_idle_secs=300)
# shellcheck disable=SC2086  # the extra flags are meant to split
nice -n 10 "${bazel_fuzz[@]}" build --config=fuzz --symlink_prefix=/ \
  ${NABLA_FUZZ_BAZEL_FLAGS:-} "//tests/fuzz:${target}_fuzzer"
binary="$("${bazel_fuzz[@]}" info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz/${target}_fuzzer"

work=${NABLA_FUZZ_DIR:-/tmp/nabla-fuzz}/$target
mkdir -p "$work/corpus"
flags=(
  "-max_total_time=$seconds"
  -rss_limit_mb=2048    # also the largest single malloc (-malloc_limit_mb)
  -timeout=10
  -max_len=65536
  -print_final_stats=1
  "-artifact_prefix=$work/"
)
if [[ -f tests/fuzz/$target.dict ]]; then
  flags+=("-dict=$root/tests/fuzz/$target.dict")
fi
if (( keep_going )); then
  flags+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
fi

echo "fuzz.sh: $target for ${seconds}s; new inputs in $work/corpus"
status=0
# The scratch files the targets write go to $work, not a shared /tmp.
TMPDIR=$work nice -n 19 "$binary" "${flags[@]}" "$@" \
  "$work/corpus" "$root/tests/fuzz/corpus/$target" || status=$?

shopt -s nullglob
rm -f "$work"/nabla_fuzz_*  # the targets' scratch files
found=("$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*)
if (( ${#found[@]} > 0 )); then
  echo "fuzz.sh: $target: ${#found[@]} input(s) that fail, in $work:"
  printf '  %s\n' "${found[@]}"
  echo "  reproduce: $binary FILE"
  echo "  once fixed, copy each to tests/fuzz/regressions/$target/"
fi
exit "$status"
