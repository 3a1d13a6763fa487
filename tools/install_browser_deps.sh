#!/usr/bin/env bash
# Install what the JupyterLab browser test (tests/test_browser.py) needs:
#   * Debian's `chromium` package (only when /usr/bin/chromium is missing; needs root),
#   * `playwright-core` from npm, pinned by tests/browser/package-lock.json.
# Playwright's own browser download is switched off: the test drives /usr/bin/chromium.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BROWSER_DIR="$ROOT/tests/browser"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo '?'))"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing and installing it needs root: run 'sudo $0'" >&2
    exit 1
  fi
  echo "chromium: installing Debian's package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  echo "chromium: $(/usr/bin/chromium --version)"
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: install Node.js >= 20 (e.g. apt-get install nodejs npm)" >&2
  exit 1
fi

# npm ci wipes and reinstalls node_modules; skip it when the installed tree matches the lock file.
STAMP="$BROWSER_DIR/node_modules/.package-lock.json"
if [ -f "$STAMP" ] && [ -d "$BROWSER_DIR/node_modules/playwright-core" ] \
   && [ "$STAMP" -nt "$BROWSER_DIR/package-lock.json" ]; then
  echo "playwright-core: already installed"
else
  echo "playwright-core: npm ci"
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "browser test dependencies are ready"
