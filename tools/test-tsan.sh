#!/usr/bin/env bash
# The Kafka module's tests under ThreadSanitizer: the producer and consumer cores (their state
# machines, poll threads, and the close races of Tests/KafkaTests/CloseRaceTests.swift) against
# real librdkafka on embedded mock clusters. Builds in .build-tsan (a full build of its own: TSan
# instruments every module; about 8-15 minutes from clean on 2 cores, incremental afterwards).
# Extra arguments go to `swift test` (e.g. --filter KafkaTests.CloseRaceTests).
# Reports in librdkafka's own code would go to tools/tsan-suppressions.txt with the reason; there
# are none: every report so far was in Swift code and was fixed there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="$PATH:/opt/swift/usr/bin"
fi
# halt_on_error: the first race fails the run (by default TSan reports and goes on, exit code 66).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
filter=(--filter KafkaTests)
[ "$#" -gt 0 ] && filter=()
swift test --sanitize=thread --scratch-path .build-tsan --no-parallel "${filter[@]}" "$@"
