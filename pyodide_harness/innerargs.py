"""The in-runtime pytest command line, derived from the host's.

The host parses the user's command line (pytest's options, the suite's own
conftest options declared on the host by ``suiteoptions.py``); the runtime's
session gets the options that decide what runs and how it is reported inside:
selection (``-k``, ``-m``, ``--deselect``, paths), tracebacks, capture,
warnings filters, ini overrides, the suite's own options and the options of
plugins the runtime has (``hostplugins.py``). Reporting options (``-r``,
``--junitxml``) stay on the host, which prints the reports. The project's
config file is the runtime's too (``-c``), with its ``addopts`` filtered of
options for plugins the runtime lacks.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from . import hostplugins, suiteoptions, target
from .inner.pyodide_harness_inner import InnerOptions
from .items import split_host_nodeid
from .settings import Settings
from .testtree import relative_args


def pytest_args(config: pytest.Config, settings: Settings, runtime_dists: set[str],
                say: hostplugins.Say) -> list[str]:
    """The options of the host's command line that every runtime's session needs."""
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
    for w in hostplugins.cli_warning_filters(config):
        extra += ["-W", w]
    for o in opt.override_ini or ():
        extra += ["-o", o]
    addopts, notes = hostplugins.runtime_addopts(config, runtime_dists)
    for note in notes:
        say(note)
    if addopts is not None:
        extra += ["-o", f"addopts={shlex.join(addopts)}"]
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
    for ignore in opt.ignore or ():
        extra += [f"--ignore={a}" for a in relative_args([ignore], inv, root)]
    for ignore in opt.ignore_glob or ():
        extra.append(f"--ignore-glob={ignore}")
    inipath = config.inipath
    if inipath is not None and inipath.is_relative_to(root):
        extra += ["-c", inipath.relative_to(root).as_posix()]
    extra += suiteoptions.forwarded(config)
    extra += hostplugins.forwarded(config, runtime_dists)
    extra += settings.inner_args
    return extra


def deselect_args(config: pytest.Config, runtime: str, runtimes: Sequence[str]) -> list[str]:
    """``--deselect`` for one runtime: ids copied from the output (``t.py::x[node]``)
    deselect in their runtime only, plain ids in every runtime."""
    args = []
    for value in config.option.deselect or ():
        found = split_host_nodeid(str(value), runtimes)
        if found is None:
            args.append(f"--deselect={value}")
        elif found[1] == runtime:
            args.append(f"--deselect={found[0]}")
    return args


def test_paths(config: pytest.Config) -> list[str]:
    """The positional arguments: paths and node ids relative to the rootdir, or with
    ``--pyargs`` module names, which the runtime resolves in its own site-packages.

    Paths pytest took from the ini's ``testpaths`` are not passed: the runtime's pytest
    reads the same ini, and there an entry that names the package source (left out of
    the test tree, ``testpaths = src/pkg tests``) is dropped as pytest drops a missing
    one, instead of being an explicit path that is not found."""
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        return []
    args = [str(a) for a in config.args]
    inv = config.invocation_params.dir
    if config.option.pyargs:
        return [a for a in args if not Path(inv, a).exists()] + relative_args(
            [a for a in args if Path(inv, a).exists()], inv, config.rootpath)
    return relative_args(args, inv, config.rootpath)


def inner_options(config: pytest.Config, settings: Settings, package: str,
                  top_level: Sequence[str], runtime_dists: set[str],
                  say: hostplugins.Say) -> InnerOptions:
    """The options every runtime's session starts from (``for_runtime`` fills in the rest)."""
    return InnerOptions(
        runtime="",
        rootdir=target.PROJECT_DIR,
        args=tuple(pytest_args(config, settings, runtime_dists, say)),
        paths=tuple(test_paths(config)),
        collect_only=bool(config.option.collectonly),
        package=package,
        top_level=tuple(top_level),
        timeout=settings.timeout or None,
        shard=settings.shard,
        ini_keys=tuple(hostplugins.known_ini_keys(config)),
    )


def for_runtime(config: pytest.Config, base: InnerOptions, runtime: str,
                runtimes: Sequence[str], paths: Sequence[str], workers: int) -> InnerOptions:
    return dataclasses.replace(
        base, runtime=runtime, paths=tuple(paths),
        args=(*base.args, *deselect_args(config, runtime, runtimes)),
        schedule="load" if workers > 1 else "all")
