#!/usr/bin/env bash
# Browser tests of the web chat page (Tests/browser): headless Chromium from Debian's chromium
# and chromium-driver packages, driven by Selenium from pytest, against .build/debug/chatd in
# development mode. Installs what is missing (as root, or with sudo), builds chatd (incremental:
# it also refreshes the page's resource bundle), and exits non-zero when a test fails.
# Extra arguments go to pytest, e.g. tools/test-browser.sh -k restart
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for package in chromium chromium-driver; do
  installed "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-browser: installing ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Selenium must use this chromedriver (never download one): it has to match the browser.
browser_version=$(chromium --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+){3}' | head -1)
driver_version=$(chromedriver --version 2>/dev/null | grep -oE '[0-9]+(\.[0-9]+){3}' | head -1)
if [ -z "$browser_version" ] || [ "${browser_version%%.*}" != "${driver_version%%.*}" ]; then
  echo "test-browser: chromium ($browser_version) and chromedriver ($driver_version) do not match: apt-get install --only-upgrade chromium chromium-driver" >&2
  exit 1
fi
echo "test-browser: chromium $browser_version, chromedriver $driver_version" >&2

# Selenium and pytest in a virtual environment under .build (ignored by git).
venv=.build/browser-venv
if ! "$venv/bin/python" -c 'import selenium, pytest' >/dev/null 2>&1; then
  echo "test-browser: creating $venv with selenium and pytest" >&2
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 needs python3-venv for this.
    installed python3-venv || DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install -q --disable-pip-version-check 'selenium>=4.20,<5' 'pytest>=8'
fi

echo "== build chatd" >&2
swift build --product chatd

echo "== browser tests" >&2
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest Tests/browser -q -p no:cacheprovider "$@"
