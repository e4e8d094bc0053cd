#!/usr/bin/env bash
# The main job on a real example: msgpack 1.2.4's PEP 783 wasm wheel from PyPI and the
# test suite from its sdist, run inside Pyodide 314 in Chromium, Firefox and Node,
# with JUnit, HTML and badge reports written to example/report/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY="$PWD/.venv/bin/python"
mkdir -p example/dist
cd example
if ! ls dist/msgpack-1.2.4-*pyemscripten_2026_0_wasm32.whl >/dev/null 2>&1; then
  "$PY" -m pip download -q --no-deps -d dist --only-binary=:all: \
    --platform pyemscripten_2026_0_wasm32 --python-version 3.14 --implementation cp \
    --abi cp314 msgpack==1.2.4
fi
if [ ! -d msgpack-1.2.4 ]; then
  "$PY" -m pip download -q --no-deps --no-binary=:all: -d dist msgpack==1.2.4
  tar xzf dist/msgpack-1.2.4.tar.gz
fi
wheel=$(ls "$PWD"/dist/msgpack-1.2.4-*pyemscripten_2026_0_wasm32.whl)
cd msgpack-1.2.4
report="$(cd .. && pwd)/report"
status=0
# -c: msgpack's pyproject has no [tool.pytest] table, and this example lives inside the
# harness's own checkout, whose pyproject pytest would otherwise find first.
"$PY" -m pytest -c pyproject.toml "--pyodide-wheel=$wheel" test/ "--pyodide-report-dir=$report" \
  -p no:cacheprovider "$@" || status=$?
echo
if [ -f "$report/index.html" ]; then
  echo "Reports: $report/index.html (JUnit: junit.xml, badges: badge.svg, badge.json)"
fi
exit $status
