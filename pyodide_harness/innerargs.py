"""The in-runtime pytest command line, derived from the host's.

The host parses the user's command line (pytest's options, the suite's own
conftest options declared on the host by ``suiteoptions.py``); the runtime's
session gets the options that decide what runs and how it is reported inside:
selection (``-k``, ``-m``, ``--deselect``, paths), tracebacks, capture,
warnings filters, ini overrides and the suite's own options. Reporting
options (``-r``, ``--junitxml``, ``-v`` columns) stay on the host, which prints
the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from . import suiteoptions, target
from .inner.pyodide_harness_inner import InnerOptions
from .settings import Settings
from .testtree import relative_args


def pytest_args(config: pytest.Config) -> list[str]:
    """The options of the host's command line that the in-runtime session needs."""
    opt = config.option
    root = config.rootpath
    inv = config.invocation_params.dir
    extra: list[str] = []
    if opt.keyword:
        extra += ["-k", opt.keyword]
    if opt.markexpr:
        extra += ["-m", opt.markexpr]
    if opt.maxfail:
        extra.append(f"--maxfail={opt.maxfail}")
    extra.append(f"--tb={opt.tbstyle}")
    if opt.showlocals:
        extra.append("-l")
    extra.append(f"--capture={opt.capture}")  # fd capture works in Pyodide too
    if getattr(opt, "timeout", None) is not None:  # pytest-timeout's --timeout on the host
        extra.append(f"--timeout={opt.timeout}")
    verbose = int(opt.verbose or 0)
    extra += ["-v"] * verbose if verbose > 0 else ["-q"]
    for w in getattr(config.known_args_namespace, "pythonwarnings", None) or ():
        extra += ["-W", w]
    for o in opt.override_ini or ():
        extra += ["-o", o]
    if getattr(opt, "strict_markers", False):
        extra.append("--strict-markers")
    if opt.runxfail:
        extra.append("--runxfail")
    if opt.importmode:
        extra.append(f"--import-mode={opt.importmode}")
    if opt.pyargs:
        extra.append("--pyargs")
    if opt.continue_on_collection_errors:
        extra.append("--continue-on-collection-errors")
    for d in opt.deselect or ():
        extra.append(f"--deselect={d}")
    for ignore in opt.ignore or ():
        extra += [f"--ignore={a}" for a in relative_args([ignore], inv, root)]
    for ignore in opt.ignore_glob or ():
        extra.append(f"--ignore-glob={ignore}")
    inipath = config.inipath
    if inipath is not None and inipath.is_relative_to(root):
        extra += ["-c", inipath.relative_to(root).as_posix()]
    extra += suiteoptions.forwarded(config)
    return extra


def _with_inner_args(args: list[str], settings: Settings) -> tuple[str, ...]:
    return (*args, *settings.inner_args)


def test_paths(config: pytest.Config) -> list[str]:
    """The positional arguments: paths and node ids relative to the rootdir, or with
    ``--pyargs`` module names, which the runtime resolves in its own site-packages."""
    args = [str(a) for a in config.args]
    if config.option.pyargs:
        return [a for a in args if not Path(config.invocation_params.dir, a).exists()] + \
            relative_args([a for a in args if Path(config.invocation_params.dir, a).exists()],
                          config.invocation_params.dir, config.rootpath)
    return relative_args(args, config.invocation_params.dir, config.rootpath)


def inner_options(config: pytest.Config, settings: Settings, package: str,
                  top_level: Sequence[str]) -> InnerOptions:
    """The options every runtime's session starts from (its runtime name and paths
    are filled in per runtime)."""
    return InnerOptions(
        runtime="",
        rootdir=target.PROJECT_DIR,
        args=_with_inner_args(pytest_args(config), settings),
        paths=tuple(test_paths(config)),
        collect_only=bool(config.option.collectonly),
        package=package,
        top_level=tuple(top_level),
        timeout=settings.timeout or None,
        shard=settings.shard,
    )
