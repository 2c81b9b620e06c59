#!/bin/sh
# The browser tests' tools: Debian's Chromium (apt) and playwright-core (npm, pinned in
# tests/e2e/browser/package-lock.json, integrity-checked by `npm ci`). Playwright never downloads a browser here:
# the tests point it at /usr/bin/chromium. Idempotent: does nothing when both are in place.
set -eu
cd "$(dirname "$0")/.."
DIR=tests/e2e/browser
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y -q --no-upgrade chromium >/dev/null || {
        $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q --no-upgrade chromium >/dev/null; }
fi
if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y -q --no-upgrade nodejs npm >/dev/null
fi
# npm ci again only when the lock file changed since the last install
if ! cmp -s "$DIR/package-lock.json" "$DIR/node_modules/.installed-lock" 2>/dev/null; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$DIR" --no-audit --no-fund --ignore-scripts --silent \
        --cache "${HOME}/.cache/charthouse/npm"
    cp "$DIR/package-lock.json" "$DIR/node_modules/.installed-lock"
fi
