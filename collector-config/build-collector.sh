#!/usr/bin/env bash
# Builds the Collector distribution of builder-config.yaml with the OpenTelemetry Collector Builder, once:
# the builder and the binary are cached outside the repository (AGENTYIELD_CACHE, default
# ~/.cache/agentyield), keyed by the manifest's content, so a second run prints the cached path and returns.
# Prints the binary's path on stdout. Needs Go and the Go module proxy; the first build takes minutes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
manifest="$here/builder-config.yaml"
version="$(sed -n 's/^  version: *//p' "$manifest")"
cache="${AGENTYIELD_CACHE:-$HOME/.cache/agentyield}"
key="$(sha256sum "$manifest" | cut -c1-12)"
dir="$cache/otelcol-$version-$key"
binary="$dir/build/agentyield-otelcol"
if [ ! -x "$binary" ]; then
  export GOBIN="$cache/bin"
  builder="$GOBIN/builder-v$version"
  if [ ! -x "$builder" ]; then
    mkdir -p "$GOBIN"
    go install "go.opentelemetry.io/collector/cmd/builder@v$version" >&2
    mv "$GOBIN/builder" "$builder"
  fi
  mkdir -p "$dir"
  (cd "$dir" && "$builder" --config "$manifest" >&2)
fi
echo "$binary"
