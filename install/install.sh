#!/usr/bin/env bash
# Installs nabla for builds that are not Bazel:
#
#   PREFIX/lib/libnabla.so                   every op registered inside
#   PREFIX/include/nabla/...                 the public headers
#   PREFIX/lib/pkgconfig/nabla.pc            pkg-config --cflags --libs nabla
#   PREFIX/lib/cmake/nabla/nablaConfig.cmake find_package(nabla), nabla::nabla
#
# Run it through Bazel, which builds what it installs:
#
#   bazel run -c opt //:install -- PREFIX
set -euo pipefail

readonly VERSION=0.1.0

if [[ $# -ne 1 || -z $1 ]]; then
  echo "usage: bazel run -c opt //:install -- PREFIX" >&2
  exit 2
fi
prefix=$1
# bazel run starts this script in its runfiles; a relative PREFIX is meant
# from the folder the user ran bazel in.
if [[ $prefix != /* ]]; then
  prefix="${BUILD_WORKING_DIRECTORY:-$PWD}/$prefix"
fi

runfiles="${RUNFILES_DIR:-$0.runfiles}/nabla"
if [[ ! -f $runfiles/install/public_headers.txt ]]; then
  runfiles=$PWD
fi
cd "$runfiles"
if [[ ! -f install/public_headers.txt || ! -f install/libnabla.so ]]; then
  echo "install: run me with bazel run //:install -- PREFIX" >&2
  exit 1
fi

# The system libraries libnabla.so links. A user's program needs on its own
# link line those the public headers call into (Abseil, Protobuf, oneDNN);
# the rest (image codecs, zlib, OpenMP) only libnabla.so itself uses.
libs=
libs_private=
for flag in $(cat install/libnabla.linkflags); do
  case $flag in
    -labsl_* | -lprotobuf | -ldnnl | -lpthread) libs+=" $flag" ;;
    *) libs_private+=" $flag" ;;
  esac
done
libs=${libs# }
libs_private=${libs_private# }
# CMake takes the same flags as a list.
libs_cmake=${libs// /;}

# Each line: the header's include path and where it is in the runfiles.
while read -r header found; do
  install -D -m 0644 "$found" "$prefix/include/nabla/$header"
done < install/public_headers.txt
install -D -m 0755 install/libnabla.so "$prefix/lib/libnabla.so"
mkdir -p "$prefix/lib/pkgconfig" "$prefix/lib/cmake/nabla"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$VERSION|" -e "s|@LIBS@|$libs|" \
  -e "s|@LIBS_PRIVATE@|$libs_private|" \
  install/nabla.pc.in > "$prefix/lib/pkgconfig/nabla.pc"
sed -e "s|@VERSION@|$VERSION|" -e "s|@LIBS_CMAKE@|$libs_cmake|" \
  install/nablaConfig.cmake.in > "$prefix/lib/cmake/nabla/nablaConfig.cmake"

echo "install: nabla $VERSION in $prefix ($(wc -l < install/public_headers.txt) headers)"
echo "install: g++ my_model.cc \$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs nabla)"
