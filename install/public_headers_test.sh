#!/usr/bin/env bash
# Checks that the installed header set is closed: every "quoted" include of
# a public header is itself public or a system header (/usr/include), so
# that a header added to graph/session.h cannot be forgotten here. $1 is
# the listing of //install:public_headers ("<include path> <runfiles path>").
set -euo pipefail
listing=$1
status=0
declare -A public
while read -r header _; do public[$header]=1; done < "$listing"
while read -r header found; do
  while read -r included; do
    if [[ -z ${public[$included]:-} && ! -f /usr/include/$included ]]; then
      echo "FAIL: $header includes $included, which is not a public header" \
        "(add it to install/BUILD.bazel, or include it only from a .cc)" >&2
      status=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$found")
done < "$listing"
(( status == 0 )) && echo "$(wc -l < "$listing") public headers, includes closed"
exit $status
