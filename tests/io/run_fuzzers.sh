#!/usr/bin/env bash
# Fuzzes the image and .npy readers with libFuzzer (clang-14, AddressSanitizer
# and UndefinedBehaviorSanitizer), each for SECONDS (default 60), starting
# from the committed corpus. Inputs that crash are left in /tmp/nabla_fuzz;
# add the ones worth keeping to tests/io/testdata/fuzz/{image,npy}/, which
# //tests/io:*_fuzzer_replay replay in every `bazel test`.
#
#   bazel build //io //proto:protos && tests/io/run_fuzzers.sh 120
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
out=/tmp/nabla_fuzz
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I. -Ibazel-bin)
libs=(-labsl_statusor -labsl_status -labsl_cord -labsl_cordz_info -labsl_cord_internal
      -labsl_cordz_functions -labsl_cordz_handle -labsl_hashtablez_sampler -labsl_synchronization
      -labsl_graphcycles_internal -labsl_time -labsl_time_zone -labsl_symbolize -labsl_stacktrace
      -labsl_debugging_internal -labsl_demangle_internal -labsl_malloc_internal
      -labsl_str_format_internal -labsl_strings -labsl_strings_internal -labsl_int128
      -labsl_throw_delegate -labsl_base -labsl_spinlock_wait -labsl_raw_logging_internal
      -labsl_log_severity -labsl_bad_optional_access -labsl_bad_variant_access -lpthread)
clang++-14 "${flags[@]}" tests/io/image_fuzzer.cc io/image.cc io/digit.cc core/file.cc \
  -o "$out/image_fuzzer" "${libs[@]}" -lpng16 -lz -ljpeg -lnetpbm -lprotobuf
clang++-14 "${flags[@]}" tests/io/npy_fuzzer.cc io/npy.cc core/file.cc core/tensor.cc \
  core/shape.cc bazel-bin/proto/graph.pb.cc -o "$out/npy_fuzzer" "${libs[@]}" -lprotobuf
for target in image npy; do
  corpus="$out/${target}_corpus"
  mkdir -p "$corpus" "tests/io/testdata/fuzz/$target"
  cp tests/io/testdata/"${target/image/images}"/* "$corpus/" 2>/dev/null || true
  cp tests/io/testdata/fuzz/"$target"/* "$corpus/" 2>/dev/null || true
  echo "=== ${target}_fuzzer for ${seconds}s"
  (cd "$out" && "./${target}_fuzzer" -max_total_time="$seconds" -max_len=65536 \
     -rss_limit_mb=2048 -timeout=10 "$corpus")
done
