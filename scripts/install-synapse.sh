#!/usr/bin/env bash
# Installs the Synapse Matrix homeserver that the Matrix tests start (test/support/synapse.ts) into a virtualenv
# cached outside the repository, with the exact dependency set of test/matrix/synapse-constraints.txt.
#
#   bash scripts/install-synapse.sh          # prints the venv's python executable on stdout (logs go to stderr)
#
# Idempotent: when the venv holds this Synapse version installed from the same constraints file, it only prints the
# path. Concurrent runs (two test files at once) wait for each other on a lock instead of installing twice.
#
# Needs python3 (3.8+) with the venv module (Debian: python3 and python3-venv) and PyPI. Every package comes as a
# wheel (--only-binary), so no compiler, Rust toolchain or -dev package is needed; the database is SQLite (in the
# Python standard library), so no libpq either.
#
# Environment: PYTHON (default python3) picks the interpreter; XDG_CACHE_HOME moves the cache.
set -euo pipefail

VERSION=1.98.0 # the last Apache-2.0 release; later ones are AGPL-3.0
root="$(cd "$(dirname "$0")/.." && pwd)"
constraints="$root/test/matrix/synapse-constraints.txt"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openagentio-nest"
venv="$cache/synapse-$VERSION"
python="${PYTHON:-python3}"

log() { echo "install-synapse: $*" >&2; }
# shellcheck source=lib/install-cache.sh
. "$(dirname "$0")/lib/install-cache.sh"

want="$(venv_stamp "matrix-synapse==$VERSION" "$constraints")"
installed() { venv_installed "$venv" "$want"; }
reuse_or_lock "$cache/synapse-$VERSION.lock" "$venv/bin/python" "installing Synapse $VERSION"

if ! "$python" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 8))' 2>/dev/null; then
  log "$python is missing, older than 3.8, or lacks the venv/ensurepip modules (Debian: apt-get install python3 python3-venv)"
  exit 1
fi

log "installing Synapse $VERSION into $venv (first time only, about half a minute)"
rm -rf "$venv"
"$python" -m venv "$venv"
# setuptools is named because Synapse $VERSION imports pkg_resources, which the newest setuptools no longer has;
# the constraints file pins it to a release that does.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  -c "$constraints" "matrix-synapse==$VERSION" setuptools >&2
"$venv/bin/python" -c "import synapse, sys; sys.exit(synapse.__version__ != '$VERSION')"
echo "$want" >"$venv/.installed-from"
log "installed Synapse $VERSION"
echo "$venv/bin/python"
