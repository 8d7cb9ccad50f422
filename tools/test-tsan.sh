#!/usr/bin/env bash
# The Kafka module's tests under ThreadSanitizer: the producer and consumer cores (their state
# machines, poll threads, and the close races of Tests/KafkaTests/CloseRaceTests.swift) against
# real librdkafka on embedded mock clusters. They run from the nested package Tests/ThreadSanitizer
# (Tests/KafkaTests through a symlink, on the root's Kafka product), because TSan instruments every
# module a build compiles, and the root package's `swift test` compiles every test target's
# dependencies (hummingbird, GRDB, swift-crypto, jwt-kit...: about 11.5 minutes from clean on a loaded
# 2-core machine); this builds only Kafka, swift-nio, swift-log and swift-service-lifecycle (about
# 2 to 4 minutes from clean there, incremental afterwards), in .build-tsan.
# Extra arguments go to `swift test` (e.g. --filter KafkaTests.CloseRaceTests).
# No suppressions: librdkafka starts C11 threads, which TSan cannot follow by itself (it crashed
# at their first malloc), so TSan builds route them through pthread (Sources/CKafkaShim/
# tsan_c11_threads.c); and the Kafka module locks with pthread locks, which TSan sees (it reports
# every access under Synchronization's Mutex on Linux as a race).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="$PATH:/opt/swift/usr/bin"
fi
# The same dependency versions as the root's (whose Package.resolved is not committed either).
[ -f Package.resolved ] && cp Package.resolved Tests/ThreadSanitizer/Package.resolved
# halt_on_error: the first race fails the run (by default TSan reports and goes on, exit code 66).
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
swift test --package-path Tests/ThreadSanitizer --sanitize=thread --scratch-path .build-tsan --no-parallel "$@"
