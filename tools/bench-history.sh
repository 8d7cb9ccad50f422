#!/usr/bin/env bash
# Builds chatctl and history-bench in release mode and runs the history benchmark: compaction
# throughput, and `chatctl replay` of a 1,000,000-message room beside a plain scan of its partition.
# Progress goes to stderr, the JSON report to the file given as the first argument (default
# bench-results/history.json) and to stdout. Extra arguments go to history-bench, e.g.
#   tools/bench-history.sh out.json --messages 200000
set -euo pipefail

cd "$(dirname "$0")/.."
output="${1:-bench-results/history.json}"
shift || true

swift build -c release --product chatctl >&2
bash tools/build-benchmarks.sh -c release --product history-bench >&2
bin="$(swift build -c release --show-bin-path)"
"$bin/history-bench" --chatctl "$bin/chatctl" --output "$output" "$@"
