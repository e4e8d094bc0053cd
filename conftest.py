"""Shared fixtures of the harness's own test suite: real artifacts, built or fetched once."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from pyodide_harness.compat import extract_tar
from pyodide_harness.target import PIP_PLATFORM_ARGS

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "tests"))

MSGPACK_VERSION = "1.2.4"


INNER_PATH = ROOT / "pyodide_harness" / "inner" / "pyodide_harness_inner.py"


@pytest.fixture
def inner(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The inner plugin loaded from its file, as the runtime loads it, with only pytest's own
    plugins (as in the runtime); SIGINT's handler restored after (run() installs its own)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    spec = importlib.util.spec_from_file_location("pyodide_harness_inner", INNER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "pyodide_harness_inner", module)  # imported, as in the runtime
    spec.loader.exec_module(module)
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield module
    finally:
        signal.signal(signal.SIGINT, handler)


@pytest.fixture(scope="session")
def harness_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every run in this test session (set PYODIDE_HARNESS_CACHE to share more)."""
    path = os.environ.get("PYODIDE_HARNESS_CACHE")
    return Path(path) if path else tmp_path_factory.mktemp("harness-cache")


@pytest.fixture
def run(pytester: pytest.Pytester, harness_cache: Path,
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., pytest.RunResult]:
    """Run the harness in a subprocess from the current directory, in one runtime."""
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(harness_cache))

    def run(*args: str, runtime: str = "node") -> pytest.RunResult:
        return pytester.runpytest_subprocess(f"--pyodide-runtime={runtime}", "-p", "no:cacheprovider",
                                             *args, timeout=600)

    return run


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write a project with the given test files, chdir into it, return its wheel."""
    from fixtureproject import build_suite

    def make(files: dict[str, str], ini_options: str = "") -> Path:
        project, wheel = build_suite(pytester.path, files, ini_options)
        monkeypatch.chdir(project)
        return wheel

    return make


@pytest.fixture(scope="session")
def msgpack_sdist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """msgpack's real wasm wheel from PyPI and its unpacked sdist (for its test suite)."""
    where = tmp_path_factory.mktemp("msgpack")
    pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(where)]
    subprocess.run([*pip, *PIP_PLATFORM_ARGS, f"msgpack=={MSGPACK_VERSION}"], check=True)
    subprocess.run([*pip, "--no-binary=:all:",
                    f"msgpack=={MSGPACK_VERSION}"], check=True)
    wheel = next(where.glob("msgpack-*-pyemscripten_2026_0_wasm32.whl"))
    with tarfile.open(next(where.glob("msgpack-*.tar.gz"))) as tf:
        extract_tar(tf, where)
    return wheel, where / f"msgpack-{MSGPACK_VERSION}"


@pytest.fixture
def fresh_copy(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a directory tree into this test's tmp_path."""
    def copy(src: Path) -> Path:
        dest = tmp_path / src.name
        shutil.copytree(src, dest)
        return dest
    return copy
