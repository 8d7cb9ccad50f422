#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs chatd on an embedded Kafka cluster
# (http://localhost:8080). Extra arguments go to chatd, e.g. tools/run.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh
swift build --product chatd
exec .build/debug/chatd "$@"
