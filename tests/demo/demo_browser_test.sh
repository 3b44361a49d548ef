#!/usr/bin/env bash
# The demo page in a real browser: runs tests/demo/demo_browser.mjs (Node
# and playwright-core driving Debian's Chromium) against the demo server
# binary. Extra arguments go to the script, e.g. --screenshot=docs/demo.png
# under `bazel run`.
set -euo pipefail

node=${NODE:-$(command -v node || true)}
if [[ -z "$node" ]]; then
  echo "FAIL demo_browser: node is not installed (tools/setup.sh installs it)" >&2
  exit 1
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x "$chromium" ]]; then
  echo "FAIL demo_browser: no Chromium at $chromium (tools/setup.sh installs it)" >&2
  exit 1
fi
exec "$node" tests/demo/demo_browser.mjs --server=examples/mnist_demo \
  --chromium="$chromium" "$@"
