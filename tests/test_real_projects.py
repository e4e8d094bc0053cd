"""Issue 11's acceptance: a project as real ones are, on a host as real ones are.

The project has a src/ layout, a conftest that imports hypothesis (declared only in
a ``test`` dependency group) and the package itself, declares ``--runslow`` and an
ini key its pyproject.toml sets, uses ``filterwarnings = error`` and holds a file
dated 1970. It runs with the mission's command as a shell gives it,
``pytest --pyodide-wheel dist/*.whl --runslow``, unquoted, with a native wheel beside
the pure one, in all three runtimes: once from a virtual environment where only
pytest-pyodide-harness is installed (pip install of this checkout), once from one
that also has pytest-xdist, pytest-cov and pytest-run-parallel.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from wheelfactory import make_wheel

from pyodide_harness.reportdir import load_results

pytestmark = [pytest.mark.node, pytest.mark.browser, pytest.mark.network]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_SOURCE = "VALUE = 42\n\ndef double(x):\n    return 2 * x\n"

PROJECT = {
    "pyproject.toml": """
        [project]
        name = "demoproj"
        version = "1.0"

        [dependency-groups]
        test = ["hypothesis"]

        [tool.pytest.ini_options]
        testpaths = ["tests"]
        filterwarnings = ["error"]
        demo_setting = "from-pyproject"
    """,
    "src/demoproj/__init__.py": "raise ImportError('the source tree must not be imported')\n",
    "tests/conftest.py": """
        import hypothesis            # a test-only dependency: not on the host
        import pytest

        import demoproj              # the package under test: src/ layout, wasm-only here

        def pytest_addoption(parser):
            parser.addoption("--runslow", action="store_true", default=False,
                             help="run slow tests")
            parser.addini("demo_setting", "a setting of this suite")

        def pytest_configure(config):
            config.addinivalue_line("markers", "slow: a slow test")

        def pytest_collection_modifyitems(config, items):
            if not config.getoption("--runslow"):
                for item in items:
                    if "slow" in item.keywords:
                        item.add_marker(pytest.mark.skip(reason="needs --runslow"))

        @pytest.fixture
        def setting(pytestconfig):
            return pytestconfig.getini("demo_setting")
    """,
    "tests/test_demo.py": """
        import pathlib
        import sys

        import pytest
        from hypothesis import given, settings, strategies as st

        import demoproj

        def test_the_wheel_is_imported():
            assert demoproj.VALUE == 42
            assert "site-packages" in demoproj.__file__

        @settings(max_examples=20, deadline=None)
        @given(st.integers())
        def test_double(x):
            assert demoproj.double(x) == x + x

        @pytest.mark.slow
        def test_slow_runs_with_runslow():
            assert sys.platform == "emscripten"

        def test_the_ini_key(setting):
            assert setting == "from-pyproject"

        def test_data_dated_1970():
            data = pathlib.Path(__file__).parent / "data" / "old.txt"
            assert data.read_text() == "old data\\n"
    """,
    "tests/data/old.txt": "old data\n",
}
TESTS = 5


def build_project(root: Path) -> Path:
    project = root / "project"
    for name, text in PROJECT.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    os.utime(project / "tests" / "data" / "old.txt", (0, 0))  # 1970, as flit dates PKG-INFO
    files = {"demoproj/__init__.py": PACKAGE_SOURCE}
    make_wheel(project / "dist", "demoproj", tag="py3-none-any", files=files)
    make_wheel(project / "dist", "demoproj", tag="cp311-cp311-manylinux_2_17_x86_64", files=files)
    return project


HostVenv = Callable[[str, list[str]], Path]


@pytest.fixture(scope="session")
def host_venv(tmp_path_factory: pytest.TempPathFactory) -> HostVenv:
    """``venv(name, extra)``: the python of a virtual environment with this checkout
    installed (as a user installs it, not editable) plus ``extra``; made once per session."""
    made: dict[str, Path] = {}

    def venv(name: str, extra: list[str]) -> Path:
        if name not in made:
            where = tmp_path_factory.mktemp(f"venv-{name}")
            subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
            python = where / "bin" / "python"
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            "--disable-pip-version-check", str(ROOT), *extra],
                           check=True, timeout=1200)
            made[name] = python
        return made[name]

    return venv


@pytest.mark.parametrize(("name", "extra"), [
    ("plain", []),
    ("dev", ["pytest-xdist", "pytest-cov", "pytest-run-parallel"]),
])
def test_a_real_project_runs_as_it_is(
    host_venv: HostVenv, tmp_path: Path, harness_cache: Path, name: str, extra: list[str]
) -> None:
    python = host_venv(name, extra)
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"],
                               capture_output=True, text=True, check=True).stdout
    assert ("pytest-xdist==" in installed) == bool(extra)
    assert "hypothesis==" not in installed  # the conftest's import cannot be served by the host
    project = build_project(tmp_path)
    # Through a shell, so dist/*.whl is expanded by it: the option takes the native wheel.
    command = (f"{shlex.quote(str(python))} -m pytest --pyodide-wheel dist/*.whl --runslow "
               "-p no:cacheprovider --pyodide-report-dir=report -rA")
    env = {**os.environ, "PYODIDE_HARNESS_CACHE": str(harness_cache)}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True,
                          text=True, timeout=1500)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert "INTERNALERROR" not in output
    assert "skipped demoproj-1.0-cp311-cp311-manylinux_2_17_x86_64.whl" in output
    assert "test requirements: pyproject.toml [dependency-groups] test (1)" in output
    results = load_results(project / "report")
    runs = {run.runtime: run for run in results.packages[0].runtimes}
    assert sorted(runs) == ["chromium", "firefox", "node"]
    for run in runs.values():
        assert [t.outcome for t in run.tests] == ["passed"] * TESTS, (run.runtime, run.tests)
        assert run.environment["imported_from"].startswith("/lib/python3.14/site-packages/")
