"""Plugins of the host's environment, kept from acting on a harness run.

A maintainer's environment has pytest-xdist, pytest-cov, pytest-run-parallel,
pytest-randomly, pytest-asyncio and friends installed. With ``--pyodide-wheel``
no test runs on the host, so their hooks there act on nothing, or worse: xdist
starts workers that import the suite on the host, pytest-cov measures the host
and fails a passing run on ``--cov-fail-under``, run-parallel and
pytest-asyncio warn, and the suite's ``filterwarnings = error`` turns those
warnings into INTERNALERRORs. And the project's ini ``addopts``, read again by
the runtime's pytest, carry their options into a runtime that lacks the plugin.

What happens, per option (``HOST_OPTIONS``):

* options that make no sense with the harness (``-n``, ``--cov``,
  ``--parallel-threads``, ``--session-timeout``) are refused when typed, with
  the harness's equivalent, and ignored with a note when they come from the
  project's ``addopts``;
* options of plugins that work inside Pyodide when the suite installs them
  there (``--reruns``, ``--hypothesis-*``, ``--randomly-seed``,
  ``--benchmark-*``) are passed into the runtime when the plugin is among its
  dependencies, and otherwise refused with the way to add it;
* the ini ``filterwarnings`` and ``-W`` apply inside the runtime only: on the
  host they would judge the host plugins' warnings, not the suite's;
* the runtime's ``addopts`` are the project's minus the options of plugins it
  does not have, and ini keys the host knows never become "unknown config
  option" errors inside.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from packaging.utils import canonicalize_name

from .errors import HarnessError
from .suiteoptions import OptionDecl, tokens_for

Verdict = Literal["refuse", "runtime"]
Say = Callable[[str], None]

XDIST = ("{option} (pytest-xdist) would start worker processes on this host, which import the "
         "suite here; with --pyodide-wheel the suite runs inside Pyodide. Use --pyodide-workers "
         "instead: it shares the tests between instances of each runtime")
COV = ("{option} (pytest-cov) measures this host process, which runs none of the suite with "
       "--pyodide-wheel (coverage would read 0% and --cov-fail-under would fail the run). "
       "Measure coverage in a native run; leave {option} out of harness runs")
RUN_PARALLEL = ("{option} (pytest-run-parallel) runs tests in threads of this host process, which "
                "runs none of the suite with --pyodide-wheel, and Pyodide cannot start threads. "
                "Leave it out of harness runs")
SESSION_TIMEOUT = ("{option} (pytest-timeout) times the host's test loop, which runs no test with "
                   "--pyodide-wheel. Use --pyodide-timeout for each test phase inside Pyodide")
NOT_IN_RUNTIME = ("{option} ({plugin}) acts where the tests run, inside Pyodide, and {plugin} is "
                  "not among the runtime's dependencies. Add it to the suite's test "
                  "requirements (e.g. --pyodide-requirement {plugin}) or leave {option} out")
IGNORED_FROM_ADDOPTS = "addopts: left out {option} ({plugin}): {why}"
SHIELDED = ("filterwarnings and -W apply inside the runtime only: the host runs no test, and "
            "there they would turn host plugins' warnings into errors")


@dataclass(frozen=True)
class HostOption:
    plugin: str  # distribution name
    names: tuple[str, ...]
    dest: str
    takes_value: bool
    verdict: Verdict
    why: str = ""  # the refusal, for verdict "refuse"

    def active(self, value: Any) -> bool:
        """Whether an option's value asks the plugin to do something."""
        if value is None or value is False or value in (0, "0", "no") or value in ([], ()):
            return False
        return not (self.dest in ("parallel_threads", "iterations") and str(value) == "1")

    def decl(self) -> OptionDecl:
        return OptionDecl(self.names, self.takes_value, None, "", self.plugin)


HOST_OPTIONS: tuple[HostOption, ...] = (
    HostOption("pytest-xdist", ("-n", "--numprocesses"), "numprocesses", True, "refuse", XDIST),
    HostOption("pytest-xdist", ("--dist",), "dist", True, "refuse", XDIST),
    HostOption("pytest-xdist", ("--tx",), "tx", True, "refuse", XDIST),
    HostOption("pytest-xdist", ("-f", "--looponfail"), "looponfail", False, "refuse", XDIST),
    HostOption("pytest-xdist", ("--maxprocesses",), "maxprocesses", True, "refuse", XDIST),
    HostOption("pytest-cov", ("--cov",), "cov_source", True, "refuse", COV),
    HostOption("pytest-run-parallel", ("--parallel-threads",), "parallel_threads", True,
               "refuse", RUN_PARALLEL),
    HostOption("pytest-run-parallel", ("--iterations",), "iterations", True, "refuse",
               RUN_PARALLEL),
    HostOption("pytest-timeout", ("--session-timeout",), "session_timeout", True, "refuse",
               SESSION_TIMEOUT),
    HostOption("pytest-rerunfailures", ("--reruns",), "reruns", True, "runtime"),
    HostOption("pytest-rerunfailures", ("--reruns-delay",), "reruns_delay", True, "runtime"),
    HostOption("pytest-rerunfailures", ("--only-rerun",), "only_rerun", True, "runtime"),
    HostOption("pytest-randomly", ("--randomly-seed",), "randomly_seed", True, "runtime"),
    HostOption("pytest-randomly", ("--randomly-dont-reorganize",), "randomly_reorganize", False,
               "runtime"),
    HostOption("pytest-benchmark", ("--benchmark-only",), "benchmark_only", False, "runtime"),
    HostOption("pytest-benchmark", ("--benchmark-skip",), "benchmark_skip", False, "runtime"),
    HostOption("pytest-benchmark", ("--benchmark-disable",), "benchmark_disable", False,
               "runtime"),
    HostOption("hypothesis", ("--hypothesis-show-statistics",), "hypothesis_show_statistics",
               False, "runtime"),
    HostOption("hypothesis", ("--hypothesis-seed",), "hypothesis_seed", True, "runtime"),
    HostOption("hypothesis", ("--hypothesis-profile",), "hypothesis_profile", True, "runtime"),
    HostOption("hypothesis", ("--hypothesis-verbosity",), "hypothesis_verbosity", True, "runtime"),
)
# Registered names of host plugin objects that act on the host's items.
BLOCKED = ("_run-parallel", "dsession")
# -p NAME of plugins that have no meaning inside (their options are stripped there too).
HOST_ONLY_PLUGINS = {"xdist": "pytest-xdist", "xdist.plugin": "pytest-xdist",
                     "pytest_cov": "pytest-cov", "run_parallel": "pytest-run-parallel",
                     "pytest_run_parallel": "pytest-run-parallel"}
PLUGIN_MODULES = {"randomly": "pytest-randomly", "pytest_randomly": "pytest-randomly",
                  "rerunfailures": "pytest-rerunfailures", "benchmark": "pytest-benchmark",
                  "pytest_benchmark": "pytest-benchmark", "hypothesispytest": "hypothesis",
                  "asyncio": "pytest-asyncio", "pytest_asyncio": "pytest-asyncio",
                  "timeout": "pytest-timeout", **HOST_ONLY_PLUGINS}

WARNINGS_KEY = pytest.StashKey[tuple[tuple[str, ...], tuple[str, ...]]]()  # (ini, -W)
NOTES_KEY = pytest.StashKey[list[str]]()


def _cli_args(config: pytest.Config) -> list[str]:
    """What the user typed: PYTEST_ADDOPTS and the command line, without ini addopts."""
    return [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
            *(str(a) for a in config.invocation_params.args)]


def _known(parser: pytest.Parser, options: Sequence[HostOption]) -> list[HostOption]:
    names: set[str] = set()
    for group in [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]:
        for option in getattr(group, "options", []):
            names.update(option.names())
    return [o for o in options if names.intersection(o.names)]


def disarm(config: pytest.Config, parser: pytest.Parser) -> None:
    """Before any plugin's early hook and any conftest: refuse what was typed, neutralize
    what came from addopts, block host plugins' item handlers, shield warnings."""
    notes = config.stash.setdefault(NOTES_KEY, [])
    namespace = config.known_args_namespace
    options = _known(parser, HOST_OPTIONS)
    typed = tokens_for([o.decl() for o in options], _cli_args(config))
    for option in options:
        if option.verdict != "refuse" or not option.active(getattr(namespace, option.dest, None)):
            continue
        if any(t.split("=", 1)[0] in option.names for t in typed):
            raise pytest.UsageError(option.why.format(option=option.names[-1]))
        notes.append(IGNORED_FROM_ADDOPTS.format(option=option.names[-1], plugin=option.plugin,
                                                 why="no meaning in a harness run"))
        if option.dest == "cov_source":
            namespace.cov_source = None  # before pytest-cov's early hook starts measuring
    for name in BLOCKED:
        config.pluginmanager.set_blocked(name)
    ini = tuple(config.getini("filterwarnings"))
    cli = tuple(getattr(namespace, "pythonwarnings", None) or ())
    config.stash[WARNINGS_KEY] = (ini, cli)
    if ini or cli:
        config.getini("filterwarnings").clear()  # pytest's cached list, as addinivalue_line
        namespace.pythonwarnings = []


def neutralize(config: pytest.Config) -> None:
    """At configure time, before xdist's own configure: no distribution on the host."""
    option = config.option
    if getattr(option, "dist", "no") != "no" or getattr(option, "tx", None):
        option.numprocesses, option.dist, option.tx = None, "no", []
    if getattr(option, "cov_source", None):
        option.cov_source = None


def cli_warning_filters(config: pytest.Config) -> tuple[str, ...]:
    """The -W filters of the command line, for the runtime's session."""
    saved = config.stash.get(WARNINGS_KEY, None)
    return saved[1] if saved else tuple(getattr(config.known_args_namespace, "pythonwarnings",
                                                 None) or ())


def forwarded(config: pytest.Config, runtime_dists: set[str]) -> list[str]:
    """Typed options of plugins that act inside the runtime: passed on when the runtime has
    the plugin, else a HarnessError naming how to add it."""
    options = [o for o in HOST_OPTIONS if o.verdict == "runtime"
               and o.active(getattr(config.option, o.dest, None))]
    typed = tokens_for([o.decl() for o in options], _cli_args(config))
    tokens: list[str] = []
    for option in options:
        mine = tokens_for([option.decl()], typed)
        if not mine:
            continue  # from addopts: the runtime reads those itself (filtered)
        if canonicalize_name(option.plugin) not in runtime_dists:
            raise HarnessError(NOT_IN_RUNTIME.format(option=option.names[-1], plugin=option.plugin))
        tokens += mine
    return tokens


def runtime_addopts(config: pytest.Config, runtime_dists: set[str]) -> tuple[list[str] | None, list[str]]:
    """The project's ini addopts for the runtime, without options of plugins it lacks.

    Returns (the filtered addopts, or None when nothing changes; notes on what was left
    out). Options are matched with their values, in every form argparse accepts.
    """
    addopts = [str(a) for a in config.getini("addopts")]
    if not addopts:
        return None, []
    drop = [o for o in HOST_OPTIONS if o.verdict == "refuse"
            or canonicalize_name(o.plugin) not in runtime_dists]
    kept: list[str] = []
    notes: list[str] = []
    index = 0
    while index < len(addopts):
        token = addopts[index]
        found = _match(token, drop)
        if found is not None:
            option, joined = found
            take = 1 if joined or not option.takes_value else 2
            notes.append(IGNORED_FROM_ADDOPTS.format(
                option=" ".join(addopts[index:index + take]), plugin=option.plugin,
                why="no meaning in a harness run" if option.verdict == "refuse"
                else "not among the runtime's dependencies"))
            index += take
            continue
        plugin = _plugin_arg(addopts, index)
        if plugin is not None:
            dist = PLUGIN_MODULES.get(plugin[0])
            if dist is not None and (dist in HOST_ONLY_PLUGINS.values()
                                     or canonicalize_name(dist) not in runtime_dists):
                notes.append(IGNORED_FROM_ADDOPTS.format(
                    option=" ".join(addopts[index:index + plugin[1]]), plugin=dist,
                    why="not among the runtime's dependencies"))
                index += plugin[1]
                continue
        kept.append(token)
        index += 1
    return (kept if notes else None), notes


def _match(token: str, options: Sequence[HostOption]) -> tuple[HostOption, bool] | None:
    """The option a token starts, and whether its value is joined to it."""
    for option in options:
        for name in option.names:
            if token == name:
                return option, False
            if option.takes_value and name.startswith("--") and token.startswith(name + "="):
                return option, True
            if option.takes_value and len(name) == 2 and token.startswith(name) and len(token) > 2:
                return option, True
    return None


def _plugin_arg(args: Sequence[str], index: int) -> tuple[str, int] | None:
    """``-p NAME`` / ``-pNAME`` at ``index``: (NAME, tokens used)."""
    token = args[index]
    if token == "-p" and index + 1 < len(args):
        return args[index + 1], 2
    if token.startswith("-p") and len(token) > 2 and not token.startswith("--"):
        return token[2:], 1
    return None


def known_ini_keys(config: pytest.Config) -> list[str]:
    """Keys of the project's ini section that the host knows (its plugins declare them);
    inside, a runtime without the plugin must not call them unknown."""
    section = getattr(config, "_inicfg", None)
    if section is None:
        section = getattr(config, "inicfg", {})
    keys = []
    for key in list(section):
        try:
            config.getini(key)
        except (ValueError, KeyError):
            continue
        keys.append(str(key))
    return keys
