#!/usr/bin/env bash
# Uses nabla the ways a user's build does, and prints one line per check,
# "PASS name" or "FAIL name":
#
#   install          bazel run //:install -- PREFIX (a fresh temporary prefix)
#   headers          every installed header compiles on its own
#   pkg-config       g++ my_model.cc $(pkg-config --cflags --libs nabla), run
#   onnx-installed   the ONNX file that program wrote passes ONNX's checker
#   readme           the README's C++ example, built the same way, run
#   registry-shared  a program linked to libnabla.so sees every op that a
#                    Bazel-built (static, alwayslink) program sees
#   registry-cli     ... and every op `nabla ops` lists (when the CLI exists)
#   cmake            examples/external with CMake's find_package(nabla)
#   bazel-external   examples/external as its own Bazel workspace with nabla
#                    as a local_repository, run, all ops registered
set -uo pipefail
cd "$(dirname "$0")/.."
# Byte order, as std::sort gives the registered_ops listing.
export LC_ALL=C

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
status=0

pass() { echo "PASS $1"; }
fail() {
  echo "FAIL $1${2:+: $2}"
  status=1
}
# check NAME COMMAND...: runs the command with its output in $tmp/NAME.log,
# shown only when it fails.
check() {
  local name=$1
  shift
  if "$@" > "$tmp/$name.log" 2>&1; then
    pass "$name"
  else
    tail -n 30 "$tmp/$name.log"
    fail "$name"
  fi
}

check install bazel run //:install -- "$prefix"
if [[ ! -f $prefix/lib/pkgconfig/nabla.pc ]]; then
  fail pkg-config "nothing installed; skipping the other checks"
  exit 1
fi
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags nabla)
libs=$(pkg-config --libs nabla)

compile_header() {
  echo "#include \"$1\"" | g++ -std=c++17 $cflags -fsyntax-only -x c++ - || {
    echo "header $1 does not compile on its own"
    return 1
  }
}
export -f compile_header
export cflags
check headers bash -c "cd '$prefix/include/nabla' && find . -name '*.h' -printf '%P\n' |
  xargs -P 2 -I{} bash -c 'compile_header {}'"

# shellcheck disable=SC2086  # pkg-config's output is a list of words
check pkg-config bash -c "g++ -std=c++17 -O2 examples/external/my_model.cc $cflags $libs \
  -o '$tmp/my_model' && '$tmp/my_model' '$tmp/my_model.onnx'"
check onnx-installed /usr/bin/python3 -c "import onnx, sys
onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" "$tmp/my_model.onnx"

awk '/^```cpp$/ { inside = 1; next } /^```$/ && inside { exit } inside' README.md > "$tmp/readme.cc"
check readme bash -c "g++ -std=c++17 -O2 '$tmp/readme.cc' $cflags $libs -o '$tmp/readme' &&
  '$tmp/readme'"

# The registry seen through the shared library against a static build.
if bazel build //tests/embedding:registered_ops > "$tmp/bazel-ops.log" 2>&1 &&
  bazel-bin/tests/embedding/registered_ops > "$tmp/ops-static.txt" &&
  g++ -std=c++17 tests/embedding/registered_ops.cc $cflags $libs -o "$tmp/registered_ops" &&
  "$tmp/registered_ops" > "$tmp/ops-shared.txt"; then
  if diff "$tmp/ops-static.txt" "$tmp/ops-shared.txt" > "$tmp/ops.diff"; then
    echo "$(wc -l < "$tmp/ops-shared.txt") ops registered through libnabla.so"
    pass registry-shared
  else
    cat "$tmp/ops.diff"
    fail registry-shared "the shared library's registry differs (< static, > shared)"
  fi
else
  tail -n 30 "$tmp/bazel-ops.log"
  fail registry-shared "could not build or run the listing programs"
fi
if [[ -f tools/nabla.cc ]]; then
  # `nabla ops` starts each op's entry with its name, unindented.
  if bazel run //tools:nabla -- ops > "$tmp/nabla-ops.txt" 2> "$tmp/nabla-ops.log"; then
    awk '/^[^ ]/ { print $1 }' "$tmp/nabla-ops.txt" | sort > "$tmp/ops-cli.txt"
    if diff "$tmp/ops-cli.txt" "$tmp/ops-shared.txt" > "$tmp/ops-cli.diff"; then
      pass registry-cli
    else
      cat "$tmp/ops-cli.diff"
      fail registry-cli "nabla ops and libnabla.so differ (< nabla ops, > shared)"
    fi
  else
    tail -n 30 "$tmp/nabla-ops.log"
    fail registry-cli "nabla ops failed"
  fi
fi

if command -v cmake > /dev/null; then
  check cmake bash -c "cmake -S examples/external -B '$tmp/cmake' -DCMAKE_PREFIX_PATH='$prefix' &&
    cmake --build '$tmp/cmake' && '$tmp/cmake/my_model'"
else
  fail cmake "cmake is not installed"
fi

# A workspace of its own: its own Bazel server, shut down afterwards.
expected=$(wc -l < "$tmp/ops-static.txt")
if (cd examples/external && bazel run //:my_model) > "$tmp/external.log" 2>&1 &&
  grep -qx "ops registered: $expected" "$tmp/external.log"; then
  pass bazel-external
else
  tail -n 30 "$tmp/external.log"
  fail bazel-external "expected 'ops registered: $expected'"
fi
(cd examples/external && bazel shutdown) > /dev/null 2>&1

exit $status
