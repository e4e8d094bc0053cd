"""The suites the benchmark runs: synthetic suites of N trivial tests, and msgpack's own.

Each subject is a project directory (the pytest rootdir the harness is run in)
with its wheel in ``dist/`` (where pytest-pyodide looks for it; the harness
leaves ``dist/`` out of the test tree), plus what the bare runners need and the
harness computes for itself: the dependency wheels and the test tree as a zip,
made with the harness's own functions so both ship the same files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from pyodide_harness import dependencies
from pyodide_harness.compat import extract_tar
from pyodide_harness.testtree import build_archive

REPO = Path(__file__).resolve().parent.parent
MSGPACK_VERSION = "1.2.4"
SYNTH_PACKAGE = "benchsynth"
TESTS_PER_MODULE = 100


@dataclass(frozen=True)
class Subject:
    name: str  # "synthetic-1000", "msgpack-1.2.4"
    root: Path  # project directory: pytest's rootdir and cwd
    wheel: Path  # the wheel under test (absolute)
    paths: tuple[str, ...]  # test paths relative to root
    tests: int | None  # trivial tests in a synthetic suite; None for a real suite
    top_level: tuple[str, ...]  # importable names the wheel installs
    host_requirement: str  # what pytest-pyodide's host needs installed to collect the tests
    deps: tuple[Path, ...] = ()  # dependency wheels (resolved like the harness does)
    archive: Path | None = None  # the test tree as the harness would ship it

    @property
    def synthetic(self) -> bool:
        return self.tests is not None


def pytest_pin() -> str:
    """The harness pins the in-runtime pytest to the host's version; so do the bare runners."""
    version = pytest.__version__
    return "pytest" if ("dev" in version or "+" in version) else f"pytest=={version}"


def top_level_names(wheel: Path) -> tuple[str, ...]:
    names: set[str] = set()
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            head = name.split("/", 1)[0]
            if head.endswith((".dist-info", ".data")):
                continue
            names.add(head[:-3] if head.endswith(".py") and "/" not in name else head)
    return tuple(sorted(names))


BUSY_LOOPS = 150_000  # tens of ms of pure Python per test in Pyodide (busy-200 runs ~8 s in Node)


def _synthetic_module(start: int, count: int, busy: bool = False) -> str:
    kind = "Busy" if busy else "Trivial"
    body = [f'"""{kind} tests {start}..{start + count - 1} of the benchmark\'s synthetic suite."""',
            "", f"import {SYNTH_PACKAGE}", ""]
    for i in range(start, start + count):
        check = (f"    assert {SYNTH_PACKAGE}.busy({BUSY_LOOPS}) > 0" if busy
                 else f"    assert {SYNTH_PACKAGE}.ident({i}) == {i}")
        body += ["", f"def test_{i:05d}():", check, ""]
    return "\n".join(body)


def make_synthetic(work: Path, tests: int, busy: bool = False) -> Subject:
    """A project whose wheel is a tiny pure package and whose suite has ``tests`` trivial tests.

    ``busy``: each test computes for a while instead (``busy-N``), the kind of suite
    where --pyodide-workers can gain; only the workers' runs use it.
    """
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from wheelfactory import make_wheel
    finally:
        sys.path.remove(str(REPO / "tests"))
    name = f"busy-{tests}" if busy else f"synthetic-{tests}"
    root = work / name
    if root.exists():
        shutil.rmtree(root)
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8")
    for start in range(0, tests, TESTS_PER_MODULE):
        count = min(TESTS_PER_MODULE, tests - start)
        module = root / "tests" / f"test_synth_{start // TESTS_PER_MODULE:03d}.py"
        module.write_text(_synthetic_module(start, count, busy), encoding="utf-8")
    wheel = make_wheel(root / "dist", SYNTH_PACKAGE, files={
        f"{SYNTH_PACKAGE}/__init__.py": "def ident(x):\n    return x\n\n\n"
                                        "def busy(n):\n    return sum(i * i for i in range(n))\n",
    })
    return Subject(
        name=name, root=root, wheel=wheel.resolve(), paths=("tests",),
        tests=tests, top_level=(SYNTH_PACKAGE,), host_requirement=str(wheel.resolve()),
    )


def _pip_download(dest: Path, *args: str) -> None:
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--disable-pip-version-check",
            "-d", str(dest), *args]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed:\n{proc.stdout}{proc.stderr}")


def make_msgpack(work: Path) -> Subject:
    """msgpack's wasm wheel from PyPI and the test suite of its sdist (``test/``)."""
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    pattern = f"msgpack-{MSGPACK_VERSION}-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    if not (downloads / pattern).is_file():
        _pip_download(downloads, "--only-binary=:all:", "--platform", "pyemscripten_2026_0_wasm32",
                      "--python-version", "3.14", "--implementation", "cp", "--abi", "cp314",
                      f"msgpack=={MSGPACK_VERSION}")
    sdist = downloads / f"msgpack-{MSGPACK_VERSION}.tar.gz"
    if not sdist.is_file():
        _pip_download(downloads, "--no-binary=:all:", f"msgpack=={MSGPACK_VERSION}")
    root = work / f"msgpack-{MSGPACK_VERSION}"
    if root.exists():
        shutil.rmtree(root)
    with tarfile.open(sdist) as tf:
        extract_tar(tf, work)
    (root / "dist").mkdir()
    wheel = root / "dist" / pattern
    shutil.copy2(downloads / pattern, wheel)
    return Subject(
        name=f"msgpack-{MSGPACK_VERSION}", root=root, wheel=wheel.resolve(), paths=("test",),
        tests=None, top_level=top_level_names(wheel), host_requirement=f"msgpack=={MSGPACK_VERSION}",
    )


def complete(subject: Subject, cache: Path, scratch: Path) -> Subject:
    """Add what the bare runners need: dependency wheels and the test-tree archive."""
    resolution = dependencies.resolve([(subject.wheel, ())], [pytest_pin()], cache=cache)
    archive = build_archive(subject.root, subject.top_level, scratch / f"{subject.name}-tests.zip")
    return replace(subject, deps=tuple(resolution.wheels), archive=archive.archive)
