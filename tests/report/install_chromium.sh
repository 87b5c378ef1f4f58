#!/usr/bin/env bash
# Debian's chromium for the report test (tests/test_workflow.py opens the built report in headless
# chromium and checks that the claims table and every figure render).
#
#   bash tests/report/install_chromium.sh
#
# Installs chromium with apt-get when it is missing; exits 0 with "SKIPPED: …" where this machine
# cannot install it (not root, no apt-get, no network), and the test then skips with a message.
set -euo pipefail
say() { echo "[chromium] $*" >&2; }

for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        say "found $(command -v "$name") ($("$name" --version 2>/dev/null || echo 'version unknown'))"
        exit 0
    fi
done
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "SKIPPED: chromium is missing and this machine cannot apt-get install it (needs root and apt-get)"
    exit 0
fi
say "installing chromium with apt-get"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1; then
    echo "SKIPPED: apt-get could not install chromium"
    exit 0
fi
say "installed $(command -v chromium)"
