#!/usr/bin/env bash
# Installs the Debian 12 packages nabla builds, tests and benchmarks with.
#
#   sudo tools/setup.sh            # build and test dependencies
#   sudo tools/setup.sh --bench    # also PyTorch 1.13 and OpenBLAS, for bench/
#
# Safe to run again: packages already present are left alone, and nothing is
# downloaded outside Debian's own archive.
set -euo pipefail

packages=(
  bazel-bootstrap     # Bazel 4.2.3, builds offline
  g++                 # C++17 compiler (GCC 12)
  libdnnl-dev         # oneDNN 2.6.3: the kernels
  libabsl-dev         # Abseil 20220623: Status, strings, flags
  libprotobuf-dev     # Protocol Buffers 3.21.12: graphs and checkpoints
  protobuf-compiler   # protoc of the same version
  libgtest-dev        # GoogleTest 1.12.1
  libgmock-dev
  libbenchmark-dev    # Google Benchmark 1.7.1
  zlib1g-dev          # gzipped MNIST files, checkpoint checksums
  pkg-config
  libpng-dev          # io/: PNG images
  libjpeg-dev         # io/: JPEG images (libjpeg-turbo)
  libstb-dev          # stb_image (header-only)
  libnetpbm-dev       # io/: PGM/PPM images, plain and raw, 8 and 16 bit
  python3-pil         # tools/make_digit_samples.py: drawing sample digits
  libcpp-httplib-dev  # examples/mnist_demo: HTTP server
  nlohmann-json3-dev  # examples/mnist_demo: JSON
  libonnx-dev         # export/: ONNX's own onnx.proto
  python3-onnx        # tests: the ONNX checker
  python3-numpy       # tests: .npy files written by NumPy
  libopenmpi-dev      # dist/: data-parallel training over MPI
  openmpi-bin         # mpirun
  clang-14            # fuzzing (libFuzzer)
  libclang-rt-14-dev  # libFuzzer's runtime and the sanitizers for clang
  graphviz            # rendering `nabla dot` output
  chromium            # tests: the demo page in a real browser
)
if [[ "${1:-}" == "--bench" ]]; then
  # The PyTorch reference; without OpenMP OpenBLAS it runs on reference BLAS.
  packages+=(python3-torch libopenblas0-openmp python3-numpy)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

npm_install() {
  # JavaScript test dependencies (ONNX Runtime, Playwright) from npm's
  # registry; --ignore-scripts keeps onnxruntime-node from fetching GPU
  # libraries. Playwright drives Debian's chromium and downloads no browser.
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/js"
  if [[ -d "$dir/node_modules/onnxruntime-node" && -d "$dir/node_modules/playwright-core" ]]; then
    return 0
  fi
  echo "setup: npm ci in tests/js"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || {
    echo "setup: npm ci failed in $dir; is npm's registry reachable?" >&2
    return 1
  }
}

if (( ${#missing[@]} == 0 )); then
  echo "setup: all ${#packages[@]} packages are installed."
  npm_install
  exit $?
fi

echo "setup: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
else
  sudo=
fi
if ! $sudo apt-get update -qq; then
  echo "setup: apt-get update failed; is Debian's package archive reachable?" >&2
  exit 1
fi
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  echo "setup: apt-get install failed for: ${missing[*]}" >&2
  exit 1
fi
npm_install
echo "setup: done."
