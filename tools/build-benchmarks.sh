#!/usr/bin/env bash
# Builds products of the nested Benchmarks package (benchmarks and the soak) in the root package's
# .build, so that the dependencies compiled for the root (swift-nio, hummingbird, swift-crypto...)
# are reused and the binaries land next to chatd and chatctl. Arguments go to `swift build`, e.g.
#   tools/build-benchmarks.sh --product chat-soak
#   tools/build-benchmarks.sh -c release --product chat-bench
# The two packages share one scratch directory but not one build plan: SwiftPM keeps a single
# .build/<configuration>.yaml and can reuse the other package's as if it were its own (the root
# build then misses changed sources), so the plan is dropped before and after: each side plans anew.
# They also share .build/checkouts, so the nested package starts from the root's Package.resolved.
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=debug
previous=""
for argument in "$@"; do
  case "$previous" in -c|--configuration) configuration=$argument ;; esac
  case "$argument" in -c=*|--configuration=*) configuration=${argument#*=} ;; esac
  previous=$argument
done
# The same dependency versions as the root's: both packages check out into the same .build.
[ -f Package.resolved ] && cp Package.resolved Benchmarks/Package.resolved
rm -f ".build/$configuration.yaml"
status=0
swift build --package-path Benchmarks --scratch-path .build "$@" || status=$?
rm -f ".build/$configuration.yaml"
exit "$status"
