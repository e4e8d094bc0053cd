"""Every test id the harness prints can be pasted back, with the pytest versions it supports.

pytest 9.2 parses node ids itself: an ``@runtime`` suffix after a parametrization came
back from its summary as ``test_p[2]@node]``, which selected nothing when pasted back
(issue 12). For the oldest supported pytest and the newest, in a virtual environment
each, ids are taken from the short summary (``-rA``) and each is run again alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtureproject import build_suite

pytestmark = [pytest.mark.node, pytest.mark.network]

ROOT = Path(__file__).resolve().parent.parent
OLDEST = "8.0.2"  # pyproject.toml: pytest>=8.0
NEWEST = "9.2.0"

SUITE = {
    "tests/test_ids.py": """
        import pytest

        @pytest.mark.parametrize("n", [1, 2, "a-b", "x[y]"])
        def test_p(n):
            assert n == 1

        class TestC:
            @pytest.mark.parametrize("word", ["node", "a[b]"])
            def test_m(self, word):
                assert not word

            def test_plain(self):
                assert False
    """,
}
SUMMARY = re.compile(r"^(?:PASSED|FAILED) (\S+)", re.MULTILINE)

Venv = Callable[[str], Path]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    made: dict[str, Path] = {}

    def make(version: str) -> Path:
        if version not in made:
            where = tmp_path_factory.mktemp(f"pytest-{version}")
            subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
            python = where / "bin" / "python"
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", "-e", str(ROOT),
                            f"pytest=={version}"], check=True, timeout=1200)
            made[version] = python
        return made[version]

    return make


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_ids_from_the_summary_select_that_test_again(
    venv: Venv, version: str, tmp_path: Path, harness_cache: Path
) -> None:
    python = venv(version)
    project, wheel = build_suite(tmp_path, SUITE)
    env = {**os.environ, "PYODIDE_HARNESS_CACHE": str(harness_cache)}
    env.pop("PYTEST_ADDOPTS", None)

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "pytest", "-p", "no:cacheprovider", f"--pyodide-wheel={wheel}",
             "--pyodide-runtime=node", "-rA", *args],
            cwd=project, env=env, capture_output=True, text=True, timeout=600)

    everything = harness()
    assert f"pytest-{version}" in everything.stdout, everything.stdout[-2000:]
    ids = SUMMARY.findall(everything.stdout)
    assert len(ids) == 7, everything.stdout[-3000:]
    assert all(i.endswith(("[node]", "-node]")) for i in ids), ids
    chosen, others = ids[::2], ids[1::2]
    again = harness(*chosen)  # pasted as arguments: exactly those tests, in that runtime
    assert sorted(SUMMARY.findall(again.stdout)) == sorted(chosen), again.stdout[-3000:]
    deselected = harness(*(arg for nodeid in chosen for arg in ("--deselect", nodeid)))
    assert sorted(SUMMARY.findall(deselected.stdout)) == sorted(others), deselected.stdout[-3000:]
