#!/usr/bin/env bash
# The reliability soak: builds chatd, chatctl and chat-soak (release by default) and runs chat-soak,
# which starts a `chatctl kafka` cluster and gateway processes, drives users through them while
# killing gateways, taking brokers down, moving leaders, pausing clients and dropping every session
# of a gateway at once, then audits delivery (every acked message to every member of its room,
# exactly once, in order) and the gateways' memory. Extra arguments go to chat-soak, e.g.
#   tools/soak.sh --duration 600 --output bench-results/soak.json      # the long run
#   tools/soak.sh --duration 60 --seed 42                              # replay a seed
#   CONFIGURATION=debug tools/soak.sh --duration 60                    # reuse the debug build
# Results go to stdout (one line per check, then `soak: N passed, M failed`); progress to stderr.
# Exits with chat-soak's status: 0 only when no check failed.
set -euo pipefail

cd "$(dirname "$0")/.."
configuration="${CONFIGURATION:-release}"

for product in chatd chatctl; do
  swift build -c "$configuration" --product "$product" >&2
done
# chat-soak is in the nested Benchmarks package, built in the root's .build (its dependencies are
# reused, and it lands next to chatd and chatctl, where it looks for them).
bash tools/build-benchmarks.sh -c "$configuration" --product chat-soak >&2
bin="$(swift build -c "$configuration" --show-bin-path)"
exec "$bin/chat-soak" "$@"
