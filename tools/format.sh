#!/usr/bin/env bash
# Formats the Swift sources in place with swift-format (shipped with the toolchain) and the
# repository's .swift-format configuration; `tools/format.sh --check` only lints, exiting non-zero
# when a file is not formatted (what tools/test.sh runs). See docs/development.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then export PATH="$PATH:/opt/swift/usr/bin"; fi
paths=(Sources Tests Benchmarks Package.swift)
if [ "${1:-}" = "--check" ]; then
  exec swift format lint --strict --parallel --recursive "${paths[@]}"
fi
exec swift format format --in-place --parallel --recursive "${paths[@]}"
