#!/usr/bin/env bash
# Builds chat-bench and chatd in release mode and runs chat-bench: fan-out latency, ingest and
# idle connections against an in-process gateway on an embedded cluster, beside a broadcast-only
# WebSocket server and librdkafka produce-to-consume (the baselines). The idle-connections
# scenario runs the release chatd as a separate process so that its RSS is the server's alone.
# Progress goes to stderr; the JSON report to the first argument (default bench-results/chat.json,
# with a Markdown summary beside it) and to stdout. Extra arguments go to chat-bench, e.g.
#   tools/bench-chat.sh out.json --rate 5000 --idle-sessions 9000
set -euo pipefail

cd "$(dirname "$0")/.."
output="${1:-bench-results/chat.json}"
shift || true

swift build -c release --product chatd >&2
bash tools/build-benchmarks.sh -c release --product chat-bench >&2
bin="$(swift build -c release --show-bin-path)"
# Each idle session costs a descriptor on both sides, both counted against this shell's limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$bin/chat-bench" --chatd "$bin/chatd" --output "$output" "$@"
