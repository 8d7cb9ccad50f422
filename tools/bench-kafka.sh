#!/usr/bin/env bash
# Builds kafka-bench in release mode and runs it: the Swift Kafka wrapper against librdkafka used
# directly from C, each on its own embedded cluster. Progress goes to stderr, the JSON report to
# the file given as the first argument (default bench-results/kafka.json) and to stdout.
# Extra arguments go to kafka-bench, e.g. tools/bench-kafka.sh out.json --messages 500000
set -euo pipefail

cd "$(dirname "$0")/.."
output="${1:-bench-results/kafka.json}"
shift || true

bash tools/build-benchmarks.sh -c release --product kafka-bench >&2
binary="$(swift build -c release --show-bin-path)/kafka-bench"
"$binary" --output "$output" "$@"
