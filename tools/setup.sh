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

if (( ${#missing[@]} == 0 )); then
  echo "setup: all ${#packages[@]} packages are installed."
  exit 0
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
echo "setup: done."
