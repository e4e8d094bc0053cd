#!/usr/bin/env bash
# The project's own tests: unit tests, pytester acceptance tests, real Node, Chromium, Firefox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check pyodide_harness tests conftest.py benchmarks
python3 -m mypy pyodide_harness
python3 -m pytest "$@"
