#!/usr/bin/env bash
# What the browser tests of the MCP Apps view (tests/browser/) need, installed on this machine:
#
#   chromium      Debian's package (/usr/bin/chromium); the tests never download a browser
#   node, npm     node >= 20 (playwright-core and the ext-apps bridge require it); Debian's packages
#                 when node is missing altogether
#   tests/browser/node_modules
#                 npm ci from tests/browser/package-lock.json: @modelcontextprotocol/ext-apps (the
#                 real host-side AppBridge), esbuild (bundles the test host page), playwright-core
#
# Idempotent: what is already installed (from the same lock file) is left alone. apt-get runs as
# root, or through sudo. Usage: scripts/install-browser-test-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "install-browser-test-deps: $*" >&2; }

apt_install() {
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq >&2
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium with apt-get"
    apt_install chromium
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "installing nodejs and npm with apt-get"
    apt_install nodejs npm
fi
# The PDF tests read invoices back with poppler's pdftotext and draw non-Latin names in DejaVu Sans.
if ! command -v pdftotext >/dev/null 2>&1 || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    log "installing poppler-utils and fonts-dejavu-core with apt-get"
    apt_install poppler-utils fonts-dejavu-core
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    log "node $(node --version) is too old: the browser tests need node >= 20"
    exit 1
fi

dir="tests/browser"
stamp="$dir/node_modules/.installed-from-lock"
if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
    log "$dir: up to date"
else
    log "$dir: npm ci"
    # No install scripts: esbuild's binary comes from its platform package, nothing needs building.
    (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
    cp "$dir/package-lock.json" "$stamp"
fi
log "ready: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), node $(node --version)"
