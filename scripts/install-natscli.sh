#!/usr/bin/env bash
# Builds the `nats` command-line tool (github.com/nats-io/natscli) that the discovery tests run (`nats micro ls`,
# `info`, `stats`, test/support/natscli.ts) into a directory cached outside the repository.
#
#   bash scripts/install-natscli.sh          # prints the nats executable's path on stdout (logs go to stderr)
#
# Idempotent: when the cache holds this version, it only prints the path. Concurrent runs (two test files at once)
# wait for each other on a lock instead of building twice.
#
# Needs Go (1.22+; `go` on PATH, or /usr/local/go/bin/go) and the Go module proxy (GOPROXY, default
# proxy.golang.org). The first build downloads natscli's modules and compiles them: a minute or two.
#
# Environment: GO picks the go executable; XDG_CACHE_HOME moves the cache.
set -euo pipefail

VERSION=v0.5.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/openagentio-nest"
dir="$cache/natscli-${VERSION#v}"
bin="$dir/nats"

log() { echo "install-natscli: $*" >&2; }
# shellcheck source=lib/install-cache.sh
. "$(dirname "$0")/lib/install-cache.sh"

# `nats --version` prints the version it was built as (go install stamps the module version): a binary from an
# interrupted or other build is rebuilt.
installed() { [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$VERSION" ]; }

reuse_or_lock "$cache/natscli-${VERSION#v}.lock" "$bin" "building natscli $VERSION"

go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
if ! [ -x "$go" ] && ! command -v "$go" >/dev/null; then
  log "no Go toolchain found (install Go 1.22+ or set GO=/path/to/go)"
  exit 1
fi

log "building natscli $VERSION into $dir (first time only, a minute or two)"
rm -rf "$dir"
mkdir -p "$dir"
# Into a temporary GOBIN first, so an interrupted build never leaves a half-written binary at the cached path.
tmp="$(mktemp -d "$cache/natscli-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -buildvcs=false" "$go" install "github.com/nats-io/natscli/nats@$VERSION" >&2
mv "$tmp/nats" "$bin"
if ! installed; then
  log "the built binary does not report version $VERSION ($("$bin" --version 2>&1 || true))"
  exit 1
fi
log "built natscli $VERSION"
echo "$bin"
