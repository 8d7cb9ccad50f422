#!/usr/bin/env bash
# Installs what building and testing need on a Debian machine, only what is missing.
# Safe to run again; used by tools/run.sh and tools/test.sh.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
  export PATH="$PATH:/opt/swift/usr/bin"
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no Swift toolchain found. Install Swift 6 (https://www.swift.org/install/linux/) and run this again." >&2
  exit 1
fi

# Debian packages the build, the tests and the tools use.
packages=(librdkafka-dev pkg-config libsqlite3-dev sqlite3 python3 python3-venv curl)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The lag tests check the exporter's output with the reference Prometheus text parser
# (Tests/LagTests/PrometheusTextParser.swift uses the same directory and version).
test_tools="${CHAT_TEST_TOOLS_DIR:-$HOME/.cache/kafka-chat-test-tools}"
if ! "$test_tools/venv/bin/python" -c 'import prometheus_client' >/dev/null 2>&1; then
  echo "setup: installing prometheus-client into $test_tools/venv" >&2
  python3 -m venv "$test_tools/venv"
  "$test_tools/venv/bin/pip" install --quiet prometheus-client==0.26.0
fi
