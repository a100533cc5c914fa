#!/usr/bin/env bash
# The independent MCP clients that tests/clients/test_independent_clients.py drives the server with,
# each pinned and installed apart from the project's own environment:
#
#   tests/clients/ts-current   TypeScript SDK 1.x, current (npm ci from its package-lock.json)
#   tests/clients/ts-old       TypeScript SDK 1.12 (speaks protocol 2025-03-26)
#   tests/clients/inspector    the MCP Inspector CLI (TypeScript SDK 1.x line)
#   tests/clients/inspector-strict  the MCP Inspector CLI 2.x (tools/list --strict: schema portability)
#   tests/clients/mcp-remote   mcp-remote, the stdio-to-HTTP bridge of Claude Desktop configurations
#   tests/clients/conformance  the official MCP conformance suite, 0.1.13 (the newest that runs on Node 20;
#                              tests/clients/test_conformance.py)
#   .venv-clients/py-current   Python SDK 1.x, recent (tests/clients/py-current/requirements.txt)
#   .venv-clients/py-old       Python SDK 1.9 (speaks 2025-03-26)
#   .venv-clients/frameworks   OpenAI Agents SDK, langchain-mcp-adapters + langchain-openai, Pydantic AI,
#                              fastmcp 3 (tests/clients/frameworks/requirements.txt; tests/clients/test_frameworks.py)
#
# Needs node >= 20 with npm, and python3. Idempotent: what is already installed from the same lock
# file is left alone. The installs run side by side (they mostly wait on the network).
# Usage: scripts/install-client-test-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "install-client-test-deps: $*" >&2; }

install_npm() {
    local dir="tests/clients/$1"
    local stamp="$dir/node_modules/.installed-from-lock"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
        log "$dir: up to date"
        return
    fi
    log "$dir: npm ci"
    # Quiet unless it fails: npm's output is kept and shown only when the install does not succeed.
    local out
    out="$(mktemp)"
    if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$out" 2>&1; then
        # npm 11's ci refuses (EUSAGE) a lock whose platform-only optional dependency (the Inspector
        # 2.x has a Windows-only one) it cannot place; install honours the same lock without
        # rewriting it. The refusal is expected there, so it is shown only if the install fails too.
        log "$dir: npm ci refused the lock; npm install --no-save from it"
        if ! (cd "$dir" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error) \
            >>"$out" 2>&1; then
            log "$dir: npm install failed; npm said:"
            cat "$out" >&2
            rm -f "$out"
            return 1
        fi
    fi
    rm -f "$out"
    cp "$dir/package-lock.json" "$stamp"
}

install_python() {
    local venv=".venv-clients/$1"
    local requirements="tests/clients/$1/requirements.txt"
    local stamp="$venv/installed-from-requirements.txt"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
        log "$venv: up to date"
        return
    fi
    log "$venv: python3 -m venv + pip install -r $requirements"
    rm -rf "$venv"
    python3 -m venv "$venv"
    local out
    out="$(mktemp)"
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
        >"$out" 2>&1; then
        log "$venv: pip install failed; pip said:"
        cat "$out" >&2
        rm -f "$out"
        return 1
    fi
    rm -f "$out"
    cp "$requirements" "$stamp"
}

pids=()
for package in ts-current ts-old inspector inspector-strict mcp-remote conformance; do
    install_npm "$package" &
    pids+=("$!")
done
for client in py-current py-old frameworks; do
    install_python "$client" &
    pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
if [ "$failed" -ne 0 ]; then
    log "an install failed (see above)"
    exit 1
fi
log "ready"
