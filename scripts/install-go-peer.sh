#!/usr/bin/env bash
# Builds the Go peer programs of the interop tests and the bench (test/interop/go/: responder, caller, bench) against
# the upstream OpenAgentIO Go runtime v0.3.0 in ../shared/peers/openagentio-go (a `replace` in their go.mod; the Go
# module proxy refuses that module), into a directory cached outside the repository.
#
#   bash scripts/install-go-peer.sh     # prints the directory holding the three executables (logs go to stderr)
#
# Idempotent: the directory is named by a hash of the Go sources (go.mod, go.sum, every .go file) and of the upstream
# copy, so it only prints the path when that build is there; a change to either builds anew. Concurrent runs (two
# test files at once) wait for each other on a lock instead of building twice.
#
# Needs Go 1.25+ (`go` on PATH, or /usr/local/go/bin/go) and the Go module proxy for the runtime's own dependencies
# (nats.go, uuid, otel; GOPATH and GOCACHE as Go defaults them). The first build takes a minute or so.
# Environment: GO picks the go executable; XDG_CACHE_HOME moves the cache.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/test/interop/go"
upstream="$(cd "$root/../shared/peers/openagentio-go" 2>/dev/null && pwd || true)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openagentio-nest/go-peer"

log() { echo "install-go-peer: $*" >&2; }
# shellcheck source=lib/install-cache.sh
. "$(dirname "$0")/lib/install-cache.sh"

if [ -z "$upstream" ] || [ ! -f "$upstream/go.mod" ]; then
  log "the upstream Go runtime is not at $root/../shared/peers/openagentio-go (see ../shared/peers/README.md)"
  exit 1
fi

# Sorted relative paths and contents: the same sources give the same key on every machine.
hash="$(
  cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum
  cd "$upstream" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs sha256sum
)"
key="$(echo "$hash" | sha256sum | cut -c1-16)"
dir="$cache/$key"
installed() { [ -x "$dir/responder" ] && [ -x "$dir/caller" ] && [ -x "$dir/bench" ] && [ -f "$dir/.complete" ]; }

reuse_or_lock "$cache/build.lock" "$dir" "building the Go peer"

go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
if ! [ -x "$go" ] && ! command -v "$go" >/dev/null; then
  log "no Go toolchain found (install Go 1.25+ or set GO=/path/to/go)"
  exit 1
fi

log "building the Go peer ($key) into $dir (first time only, a minute or so)"
# Into a temporary directory first, so an interrupted build never leaves half a build at the cached path.
tmp="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false" "$go" build -o "$tmp/" ./responder ./caller ./bench) >&2
touch "$tmp/.complete"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "built the Go peer in $dir"
echo "$dir"
