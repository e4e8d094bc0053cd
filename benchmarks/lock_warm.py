"""Warm runs with packages from Pyodide's lock start no network and no pip (issue 14).

    python benchmarks/lock_warm.py [--runtime node] [--warm 2] [--workdir DIR] [--keep]

A suite whose wheel requires ``lockalpha`` (which depends on ``lockbeta``), two
packages only Pyodide's lock has: made here, added to a copy of the npm
distribution's lock, their files served from a loopback server as the package
base URL (Pyodide's CDN is not reachable from every machine, and would not have
them). With a fresh harness cache:

1. **cold**: the server up; the lock's files are fetched, pip resolves the rest;
2. **warm** (``--warm`` times): the server stopped, and ``http_proxy``,
   ``https_proxy`` and ``PIP_INDEX_URL`` pointed at a closed loopback port, so any
   download the harness or pip tried would fail the run;
3. **baseline**: the same suite with a wheel that requires nothing, warm (after
   one unmeasured run), for what a warm preparation costs without the lock.

Each harness run is ``python -m pytest --pyodide-wheel ... -p lock_warm``: this
file is also that plugin. Inside the run it counts pip invocations (the
resolver's ``run_pip``), outbound connections of the host process
(``socket.connect`` to anything but a Unix socket), and stamps when the first
runtime started; the loopback server counts requests for lock files. It prints
one table. Wall time is measured from outside (``procs.run``); "prep" is from
pytest's configure to the first runtime's start: reading the lock, its files,
the resolution, the test tree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
COUNTS_ENV = "LOCK_WARM_COUNTS"

# --- the plugin side (loaded into each harness run with -p lock_warm) -------------------

_counts: dict[str, Any] = {"pip": [], "connects": [], "configured": 0.0, "runtime_started": None}


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(COUNTS_ENV):
        return
    _counts["configured"] = time.monotonic()
    from pyodide_harness import availability, resolver

    for module in (resolver, availability):
        real = module.run_pip

        def counting(arguments: Any, *args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
            _counts["pip"].append(str(arguments[0]))
            return _real(arguments, *args, **kwargs)

        module.run_pip = counting  # type: ignore[attr-defined]
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family != getattr(socket, "AF_UNIX", None):
            _counts["connects"].append(str(address))
        return real_connect(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


def pytest_pyodide_runtime_started() -> None:
    if _counts["runtime_started"] is None:
        _counts["runtime_started"] = time.monotonic()


def pytest_unconfigure(config: pytest.Config) -> None:
    path = os.environ.get(COUNTS_ENV)
    if path:
        Path(path).write_text(json.dumps(_counts), encoding="utf-8")


# --- the benchmark side ------------------------------------------------------------------

SUITE = '''
import lockalpha
import lockbeta


def test_lock_packages():
    assert lockalpha.WHERE == "lock" and lockbeta.WHERE == "lock"
'''
PLAIN_SUITE = '''
def test_plain():
    assert True
'''


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def lock_server(directory: Path, requests: list[str]) -> Iterator[str]:
    from localindex import served

    with served(directory, requests) as url:
        yield url


def build(work: Path) -> dict[str, Path]:
    """The lock packages, a distribution whose lock lists them, two projects and wheels."""
    from lockfactory import distribution_with, entry
    from wheelfactory import make_wheel

    from pyodide_harness.distribution import obtain_distribution

    files = work / "served"
    beta = make_wheel(files, "lockbeta", files={"lockbeta.py": "WHERE = 'lock'\n"})
    alpha = make_wheel(files, "lockalpha", requires_dist=["lockbeta"],
                       files={"lockalpha.py": "import lockbeta\nWHERE = 'lock'\n"})
    npm = obtain_distribution().path  # the user's cached npm package: not what is measured
    dist = distribution_with(npm, work / "dist", [entry(alpha, depends=["lockbeta"]), entry(beta)])
    made = {"served": files, "dist": dist}
    for name, suite, requires in (("lockuser", SUITE, ["lockalpha"]), ("plainuser", PLAIN_SUITE, [])):
        project = work / name
        (project / "tests").mkdir(parents=True)
        (project / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "1.0"\n')
        (project / "tests" / "test_it.py").write_text(suite)
        made[name] = project
        made[f"{name}-wheel"] = make_wheel(project / "dist", name, requires_dist=requires,
                                           files={f"{name}.py": ""})
    return made


def harness_run(label: str, project: Path, wheel: Path, made: dict[str, Path], env: dict[str, str],
                runtime: str, url: str, requests: list[str]) -> dict[str, Any]:
    from procs import run

    counts = project / f"counts-{len(requests)}-{time.monotonic_ns()}.json"
    before = len(requests)
    argv = [sys.executable, "-m", "pytest", "-p", "lock_warm", "-p", "no:cacheprovider",
            f"--pyodide-wheel={wheel}", f"--pyodide-runtime={runtime}", f"--pyodide-dist={made['dist']}",
            f"--pyodide-package-base-url={url}"]
    result = run(argv, cwd=project, env={**env, COUNTS_ENV: str(counts)})
    data = json.loads(counts.read_text()) if counts.is_file() else {}
    started = data.get("runtime_started")
    prep = started - data["configured"] if started and data.get("configured") else None
    return {
        "label": label, "ok": result.returncode == 0, "wall": result.wall, "prep": prep,
        "lock_requests": len(requests) - before, "pip": len(data.get("pip", [])),
        "connects": len(data.get("connects", [])),
        "tail": "" if result.returncode == 0 else result.output(30),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="node", help="runtime of the runs (default node)")
    parser.add_argument("--warm", type=int, default=2, help="warm runs of the lock suite (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs' files here")
    parser.add_argument("--keep", action="store_true", help="do not delete the work directory")
    args = parser.parse_args(argv)
    for path in (HERE, REPO / "tests"):
        sys.path.insert(0, str(path))
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lock-warm-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        made = build(work)
        env = {**os.environ, "PYODIDE_HARNESS_CACHE": str(work / "cache"),
               "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        dead = f"http://127.0.0.1:{closed_port()}/"
        offline = {**env, "http_proxy": dead, "https_proxy": dead, "HTTP_PROXY": dead,
                   "HTTPS_PROXY": dead, "PIP_INDEX_URL": dead, "no_proxy": "", "NO_PROXY": ""}
        requests: list[str] = []
        rows = []
        lock_project, lock_wheel = made["lockuser"], made["lockuser-wheel"]
        with lock_server(made["served"], requests) as url:
            rows.append(harness_run("cold: empty cache, server up", lock_project, lock_wheel, made, env,
                                    args.runtime, url, requests))
            plain = (made["plainuser"], made["plainuser-wheel"])
            harness_run("prime", *plain, made, env, args.runtime, url, requests)
        for n in range(args.warm):
            rows.append(harness_run(f"warm {n + 1}: server stopped, no network", lock_project, lock_wheel,
                                    made, offline, args.runtime, url, requests))
        rows.append(harness_run("baseline: warm, no lock packages", *plain, made, offline, args.runtime,
                                url, requests))
        print(table(rows, args.runtime))
        failed = [r for r in rows if not r["ok"]]
        for row in failed:
            print(f"\n{row['label']} failed:\n{row['tail']}")
        warm = [r for r in rows if r["label"].startswith("warm")]
        return 1 if failed or any(r["pip"] or r["lock_requests"] or r["connects"] for r in warm) else 0
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def table(rows: list[dict[str, Any]], runtime: str) -> str:
    header = ["run", "passed", "wall s", "prep s", "lock files fetched", "pip runs", "host connections"]
    lines = [f"Lock packages, cold and warm ({runtime}); prep: configure to the runtime's start", "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        prep = f"{row['prep']:.2f}" if row["prep"] is not None else "-"
        cells = [row["label"], "yes" if row["ok"] else "NO", f"{row['wall']:.1f}", prep,
                 str(row["lock_requests"]), str(row["pip"]), str(row["connects"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
