"""Loaded into pytest-pyodide runs (``-p peer_plugin``) through its documented config API.

pytest-pyodide expects a full Pyodide distribution, whose ``pyodide-lock.json``
names a wheel file for every package it loads (``pytest`` for each test,
``micropip`` to install the wheel under test). The npm package the harness
uses has none of those files, and the Pyodide CDN cannot be reached here, so
this plugin's initialize script installs, right after each boot, the same
local wheels the harness and the bare runners install (pytest and its
dependencies) plus micropip; pytest-pyodide's own ``loadPackagesFromImports``
then finds them loaded. The wheel list comes from ``BENCH_PEER_WHEELS`` (JSON).

It also works around pyodide/pytest-pyodide#81 ("Tests always pass no matter
what"): pytest-pyodide copies the test directory to ``test_files/<path>`` but
runs ``pytest.main`` on the host's node id ``<path>/test_x.py::test_y`` from
the runtime's home directory, which exits 4 (file not found) with no failure in
the JUnit XML, so every test "passes" without running. A symlink
``<path> -> test_files/<path>`` for each top-level test directory named in
``BENCH_PEER_LINKS`` (JSON) makes the node ids resolve, so the tests do run.
"""

from __future__ import annotations

import json
import os

import pytest
from pytest_pyodide import get_global_config  # type: ignore[import-not-found]  # its own venv


def pytest_configure(config: pytest.Config) -> None:
    wheels = json.loads(os.environ.get("BENCH_PEER_WHEELS", "[]"))
    links = json.loads(os.environ.get("BENCH_PEER_LINKS", "[]"))
    link_code = (
        "import os\n"
        f"for name in {links!r}:\n"
        "    os.makedirs(f'test_files/{name}', exist_ok=True)\n"
        "    if not os.path.lexists(name):\n"
        "        os.symlink(f'test_files/{name}', name)\n"
    )
    get_global_config().set_initialize_script(
        f"pyodide.runPython({json.dumps(link_code)});\n"
        f"await pyodide.loadPackage({json.dumps(wheels)}, "
        "{ checkIntegrity: false, messageCallback: () => {} });"
    )
