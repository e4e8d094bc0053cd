#!/usr/bin/env bash
# The project's own tests, in .venv (made by scripts/setup.sh).
#   bash scripts/test.sh          everything: ruff, mypy --strict, unit and pytester tests, and
#                                 the tests on real Node, Chromium and Firefox (what CI runs)
#   bash scripts/test.sh --fast   the edit loop: ruff, mypy, and the tests that boot no runtime
#                                 and download nothing (fake runtimes; about 2 minutes here)
# Further arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
lane=full
if [ "${1:-}" = "--fast" ]; then lane=fast; shift; fi
bash scripts/setup.sh
PY=.venv/bin/python
$PY -m ruff check pyodide_harness tests conftest.py benchmarks
$PY -m mypy pyodide_harness tests conftest.py
if [ "$lane" = fast ]; then
  exec $PY -m pytest -m "not node and not browser and not network" "$@"
fi
exec $PY -m pytest "$@"
