#!/usr/bin/env bash
# Installs the upstream OpenAgentIO Python SDK that the interop tests run as a peer of our bus
# (test/support/python-peer.ts, test/interop/python/*.py) into a virtualenv cached outside the repository, with the
# exact dependency set of test/interop/python/constraints.txt.
#
#   bash scripts/install-python-peer.sh     # prints the venv's python executable on stdout (logs go to stderr)
#
# Idempotent: when the venv holds this SDK version installed from the same constraints file, it only prints the
# path. Concurrent runs (two test files at once) wait for each other on a lock instead of installing twice.
#
# What is installed: openagentio==0.3.0 from PyPI and nats-py, which is the SDK's only dependency and all its NATS
# transport (openagentio.transport.nats) imports; the SDK's extras (validation, http, otel, bridge, mcp) are for
# features the peer scripts do not use. Every package comes as a wheel (--only-binary), so no compiler is needed.
#
# Needs Python 3.11+ (the SDK's Requires-Python) with the venv module (Debian: python3 and python3-venv) and PyPI.
# Environment: PYTHON picks the interpreter (default: the first of python3, python3.13, python3.12, python3.11
# that is 3.11 or newer); XDG_CACHE_HOME moves the cache.
set -euo pipefail

VERSION=0.3.0
root="$(cd "$(dirname "$0")/.." && pwd)"
constraints="$root/test/interop/python/constraints.txt"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openagentio-nest"
venv="$cache/python-peer-$VERSION"

log() { echo "install-python-peer: $*" >&2; }
# shellcheck source=lib/install-cache.sh
. "$(dirname "$0")/lib/install-cache.sh"

want="$(venv_stamp "openagentio==$VERSION" "$constraints")"
installed() { venv_installed "$venv" "$want"; }
reuse_or_lock "$cache/python-peer-$VERSION.lock" "$venv/bin/python" "installing openagentio $VERSION"

usable() { "$1" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
python=""
for candidate in ${PYTHON:-python3 python3.13 python3.12 python3.11}; do
  if command -v "$candidate" >/dev/null 2>&1 && usable "$candidate"; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  log "no Python 3.11+ with the venv/ensurepip modules found (tried: ${PYTHON:-python3 python3.13 python3.12 python3.11}; Debian: apt-get install python3 python3-venv)"
  exit 1
fi

log "installing openagentio $VERSION into $venv with $("$python" -c 'import sys; print(sys.executable)') (first time only, a few seconds)"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  -c "$constraints" "openagentio==$VERSION" nats-py >&2
"$venv/bin/python" -c "
import sys
import nats
import openagentio
from openagentio.transport.nats import NATSDriver
sys.exit(openagentio.__version__ != '$VERSION')
"
echo "$want" >"$venv/.installed-from"
log "installed openagentio $VERSION"
echo "$venv/bin/python"
