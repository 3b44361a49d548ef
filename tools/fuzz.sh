#!/usr/bin/env bash
# Builds one of nabla's fuzz targets with clang-14 and libFuzzer (ASan and
# UBSan on) and runs it for a while.
#
#   tools/fuzz.sh idx 1800                 # fuzz the IDX reader for 30 min
#   tools/fuzz.sh --keep-going image 600   # do not stop at the first crash
#   tools/fuzz.sh idx 60 -- -jobs=2        # extra flags go to libFuzzer
#   tools/fuzz.sh --merge idx              # keep what the runs found
#   tools/fuzz.sh --list                   # the targets (tests/fuzz/*_fuzzer.cc)
#
# The build is Bazel's --config=fuzz (.bazelrc) in an output base of its
# own, so it neither disturbs nor is disturbed by the normal gcc build. The
# fuzzer starts from the committed seeds (tests/fuzz/corpus/T, read only)
# and keeps what it finds in $NABLA_FUZZ_DIR/T/corpus (default
# /tmp/nabla-fuzz); inputs that crash, leak, hang or exhaust memory land in
# $NABLA_FUZZ_DIR/T/ as crash-*, leak-*, timeout-*, oom-*. Once fixed, such
# an input becomes a regression case: copy it to tests/fuzz/regressions/T/
# and say in that folder's README.md what it was.
#
# --merge adds to tests/fuzz/corpus/T the fewest of the found inputs that
# cover what the seeds do not (as found-<sha1>), so that CI's replay reaches
# as far.
#
# $NABLA_FUZZ_BAZEL_FLAGS adds flags to the build, e.g. to switch a check off
# in one file while its known bug awaits a fix:
#   NABLA_FUZZ_BAZEL_FLAGS=--per_file_copt=io/image.cc@-fno-sanitize=null,-fno-sanitize=object-size
#
# Fuzzers run under `nice -n 19`: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  sed -n '2,28s/^# \{0,1\}//p' "$0"
  exit 2
}

list_targets() {
  for f in tests/fuzz/*_fuzzer.cc; do
    basename "$f" _fuzzer.cc
  done
}

mode=fuzz
keep_going=0
while [[ $# -gt 0 && $1 == --* && $1 != -- ]]; do
  case $1 in
    --list) list_targets; exit 0 ;;
    --keep-going) keep_going=1 ;;
    --merge) mode=merge ;;
    --help) usage ;;
    *) echo "fuzz.sh: unknown option $1" >&2; usage ;;
  esac
  shift
done
[[ $# -ge 1 ]] || usage
target=$1
shift
seconds=60
if [[ $# -gt 0 && $1 != -- ]]; then
  seconds=$1
  shift
fi
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
seeds=$root/tests/fuzz/corpus/$target
mkdir -p "$work/corpus"
# The targets' scratch files go to $work, not a shared /tmp.
export TMPDIR=$work

if [[ $mode == merge ]]; then
  merged=$(mktemp -d "$work/merged.XXXXXX")
  # Seeds first, so that what they cover already is not added again.
  nice -n 19 "$binary" -merge=1 -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 "$merged" "$seeds" "$work/corpus" "$@"
  # libFuzzer names the merged inputs by their sha1; seeds already
  # committed under another name are not added twice.
  known=$(sha1sum "$seeds"/* | cut -d' ' -f1)
  added=0
  for f in "$merged"/*; do
    name=$(basename "$f")
    if ! grep -qx "$name" <<<"$known"; then
      cp "$f" "$seeds/found-$name"
      added=$((added + 1))
    fi
  done
  rm -rf "$merged" "$work"/nabla_fuzz_*
  echo "fuzz.sh: added $added input(s) to $seeds ($(du -sh "$seeds" | cut -f1))"
  exit 0
fi

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
nice -n 19 "$binary" "${flags[@]}" "$@" "$work/corpus" "$seeds" || status=$?

shopt -s nullglob
rm -f "$work"/nabla_fuzz_*
found=("$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*)
if (( ${#found[@]} > 0 )); then
  echo "fuzz.sh: $target: ${#found[@]} input(s) that fail, in $work:"
  printf '  %s\n' "${found[@]}"
  echo "  reproduce: $binary FILE"
  echo "  once fixed, copy each to tests/fuzz/regressions/$target/"
fi
exit "$status"
