#!/usr/bin/env bash
# Client frame parse throughput: the byte-level parser against the JSONSerialization one it
# replaced. Compiles ChatDomain's sources, the test oracle and Benchmarks/parser-bench into one
# optimized binary (no SwiftPM release build), prints one JSON line.
# Usage: tools/bench-parser.sh [rounds] [both|new|old]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$root"/Sources/ChatDomain/*.swift "$work/"
sed '/^import ChatDomain$/d' "$root/Tests/ChatDomainTests/ReferenceFrameParser.swift" > "$work/ReferenceFrameParser.swift"
cp "$root/Benchmarks/parser-bench/main.swift" "$work/main.swift"
swiftc -O -module-name ParserBench "$work"/*.swift -o "$work/parser-bench" 2>&1 | grep -v warning || true
"$work/parser-bench" "$@"
