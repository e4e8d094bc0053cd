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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from packaging.utils import canonicalize_name

from .errors import HarnessError

Verdict = Literal["refuse", "runtime"]
Say = Callable[[str], None]

XDIST = ("{option} (pytest-xdist) would start worker processes on this host, which import the "
         "suite here; with --pyodide-wheel the suite runs inside Pyodide. Use --pyodide-workers "
         "instead: it shares the tests between instances of each runtime")
COV = ("{option} (pytest-cov) measures this host process, which runs none of the suite with "
       "--pyodide-wheel (coverage would read 0% and --cov-fail-under would fail the run). "
       "Use --pyodide-cov[=SOURCE] instead: it measures the suite inside each runtime with "
       "coverage.py, honouring your coverage config, and writes a data file per runtime with "
       "your project's paths (--pyodide-cov-compare=.coverage compares a native run)")
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
class HostPlugin:
    """A plugin of maintainers' environments and the command-line options it owns."""

    dist: str  # distribution name
    prefixes: tuple[str, ...]  # its long options start with one of these
    verdict: Verdict
    why: str = ""  # the refusal, for verdict "refuse"
    shorts: tuple[str, ...] = ()  # its short options
    active: tuple[str, ...] = ()  # for "refuse": the options that make it act when typed

    def owns(self, name: str) -> bool:
        return name in self.shorts or name.startswith(self.prefixes)


HOST_PLUGINS: tuple[HostPlugin, ...] = (
    HostPlugin("pytest-xdist", ("--numprocesses", "--maxprocesses", "--max-worker-restart",
                                "--dist", "--loadscope-reorder", "--no-loadscope-reorder",
                                "--tx", "--px", "--rsyncdir", "--rsyncignore", "--testrunuid",
                                "--maxschedchunk", "--looponfail"),
               "refuse", XDIST, shorts=("-n", "-d", "-f"),
               active=("-n", "--numprocesses", "-d", "--dist", "--tx", "-f", "--looponfail")),
    HostPlugin("pytest-cov", ("--cov", "--no-cov"), "refuse", COV, active=("--cov",)),
    HostPlugin("pytest-run-parallel", ("--parallel-threads", "--iterations",
                                       "--skip-thread-unsafe", "--mark-warnings-as-unsafe",
                                       "--mark-ctypes-as-unsafe", "--ignore-gil-enabled"),
               "refuse", RUN_PARALLEL, active=("--parallel-threads", "--iterations")),
    HostPlugin("pytest-timeout", ("--session-timeout",), "refuse", SESSION_TIMEOUT,
               active=("--session-timeout",)),
    HostPlugin("pytest-rerunfailures", ("--reruns", "--only-rerun", "--rerun-except",
                                        "--fail-on-flaky", "--force-reruns"), "runtime"),
    HostPlugin("pytest-randomly", ("--randomly-",), "runtime"),
    HostPlugin("pytest-benchmark", ("--benchmark-",), "runtime"),
    HostPlugin("hypothesis", ("--hypothesis-",), "runtime"),
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

WARNINGS_KEY = pytest.StashKey[tuple[str, ...]]()  # the command line's -W filters
ARITIES_KEY = pytest.StashKey[dict[str, bool]]()


# argparse actions that take no value.
NO_ARG_ACTIONS = ("store_true", "store_false", "store_const", "append_const", "count", "help",
                  "version")


def cli_args(config: pytest.Config) -> list[str]:
    """What the user typed: PYTEST_ADDOPTS and the command line, without ini addopts."""
    return [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
            *(str(a) for a in config.invocation_params.args)]


def parser_options(parser: pytest.Parser) -> Iterator[Any]:
    """The options of the host's parser (pytest's and installed plugins'), group by group."""
    for group in [getattr(parser, "_anonymous", None), *getattr(parser, "_groups", [])]:
        yield from getattr(group, "options", [])


def _arities(parser: pytest.Parser) -> dict[str, bool]:
    """Every option string of the host's parser: whether it takes a value (nargs "?"
    counts as taking one, as argparse takes the next word when it is not an option)."""
    arities: dict[str, bool] = {}
    for option in parser_options(parser):
        attrs = option.attrs()
        action = attrs.get("action", "store")
        takes = not (isinstance(action, str) and action.startswith(NO_ARG_ACTIONS)) \
            and attrs.get("nargs") != 0
        for name in option.names():
            arities[name] = takes
    return arities


def plugin_of(name: str) -> HostPlugin | None:
    return next((p for p in HOST_PLUGINS if p.owns(name)), None)


@dataclass(frozen=True)
class Found:
    """A host plugin's option in a command line: its tokens and what it is."""

    plugin: HostPlugin
    name: str
    tokens: tuple[str, ...]


def scan(args: Sequence[str], arities: dict[str, bool]) -> list[Found | str]:
    """``args`` in order, each host plugin's option (with its value, in every form
    argparse accepts) as one ``Found``, every other argument as it is."""
    out: list[Found | str] = []
    index = 0
    while index < len(args):
        token = args[index]
        name, joined = _option_name(token, arities)
        plugin = plugin_of(name) if name else None
        if plugin is None:
            out.append(token)
            index += 1
            continue
        take = 1 if joined or not arities.get(name, False) else 2
        if take == 2 and (index + 1 >= len(args) or args[index + 1].startswith("-")):
            take = 1  # an optional value (--cov) not given
        out.append(Found(plugin, name, tuple(args[index:index + take])))
        index += take
    return out


def _found(args: Sequence[str], arities: dict[str, bool]) -> list[Found]:
    return [entry for entry in scan(args, arities) if isinstance(entry, Found)]


def _option_name(token: str, arities: dict[str, bool]) -> tuple[str, bool]:
    """(option name, value joined to it) of a token, or ("", False)."""
    if token.startswith("--"):
        name, eq, _ = token.partition("=")
        return name, bool(eq)
    if token.startswith("-") and len(token) >= 2:
        name = token[:2]
        return (name, len(token) > 2) if name in arities or plugin_of(name) else ("", False)
    return "", False


def disarm(config: pytest.Config, parser: pytest.Parser) -> None:
    """Before any plugin's early hook and any conftest: refuse what was typed, neutralize
    what came from addopts, block host plugins' item handlers, shield warnings."""
    arities = _arities(parser)
    config.stash[ARITIES_KEY] = arities
    namespace = config.known_args_namespace
    typed = _found(cli_args(config), arities)
    for found in typed:
        plugin = found.plugin
        if plugin.verdict == "refuse" and found.name in plugin.active and _acts(found):
            raise pytest.UsageError(plugin.why.format(option=found.name))
    if getattr(namespace, "cov_source", None):
        namespace.cov_source = None  # from addopts: before pytest-cov's early hook measures
    for name in BLOCKED:
        config.pluginmanager.set_blocked(name)
    ini = tuple(config.getini("filterwarnings"))
    cli = tuple(getattr(namespace, "pythonwarnings", None) or ())
    config.stash[WARNINGS_KEY] = cli
    if ini or cli:
        config.getini("filterwarnings").clear()  # pytest's cached list, as addinivalue_line
        namespace.pythonwarnings = []


def _acts(found: Found) -> bool:
    """Whether a typed option asks its plugin to do something (-n 0 and
    --parallel-threads 1 do not)."""
    value = found.tokens[-1].partition("=")[2] if "=" in found.tokens[-1] else (
        found.tokens[1] if len(found.tokens) > 1 else found.tokens[0][2:] if
        found.tokens[0][:2] in found.plugin.shorts and len(found.tokens[0]) > 2 else "")
    if found.name in ("--parallel-threads", "--iterations"):
        return value not in ("", "1")
    return value not in ("0", "no")


def neutralize(config: pytest.Config) -> None:
    """At configure time, before xdist's own configure: no distribution on the host."""
    option = config.option
    if getattr(option, "dist", "no") != "no" or getattr(option, "tx", None):
        option.numprocesses, option.dist, option.tx = None, "no", []
    if getattr(option, "cov_source", None):
        option.cov_source = None


def cli_warning_filters(config: pytest.Config) -> tuple[str, ...]:
    """The -W filters of the command line, for the runtime's session."""
    if WARNINGS_KEY in config.stash:
        return config.stash[WARNINGS_KEY]
    return tuple(getattr(config.known_args_namespace, "pythonwarnings", None) or ())


def forwarded(config: pytest.Config, runtime_dists: set[str]) -> list[str]:
    """Typed options of plugins that act inside the runtime: passed on when the runtime has
    the plugin, else a HarnessError naming how to add it."""
    typed = _found(cli_args(config), config.stash.get(ARITIES_KEY, {}))
    tokens: list[str] = []
    for found in typed:
        if found.plugin.verdict != "runtime":
            continue
        if canonicalize_name(found.plugin.dist) not in runtime_dists:
            raise HarnessError(NOT_IN_RUNTIME.format(option=found.name, plugin=found.plugin.dist))
        tokens += found.tokens
    return tokens


def runtime_addopts(config: pytest.Config, runtime_dists: set[str]) -> tuple[list[str] | None, list[str]]:
    """The project's ini addopts for the runtime, without options of plugins it lacks.

    Returns (the filtered addopts, or None when nothing changes; notes on what was left
    out). Options are matched with their values, in every form argparse accepts.
    """
    addopts = [str(a) for a in config.getini("addopts")]
    if not addopts:
        return None, []
    kept: list[str] = []
    notes: list[str] = []
    for entry in scan(addopts, config.stash.get(ARITIES_KEY, {})):
        if isinstance(entry, str):
            kept.append(entry)
        elif entry.plugin.verdict == "runtime" and \
                canonicalize_name(entry.plugin.dist) in runtime_dists:
            kept += entry.tokens
        else:
            notes.append(IGNORED_FROM_ADDOPTS.format(
                option=" ".join(entry.tokens), plugin=entry.plugin.dist,
                why="no meaning in a harness run" if entry.plugin.verdict == "refuse"
                else "not among the runtime's dependencies"))
    final: list[str] = []
    i = 0
    while i < len(kept):
        plugin = _plugin_arg(kept, i)
        if plugin is not None:
            dist = PLUGIN_MODULES.get(plugin[0])
            if dist is not None and (dist in HOST_ONLY_PLUGINS.values()
                                     or canonicalize_name(dist) not in runtime_dists):
                notes.append(IGNORED_FROM_ADDOPTS.format(
                    option=" ".join(kept[i:i + plugin[1]]), plugin=dist,
                    why="not among the runtime's dependencies"))
                i += plugin[1]
                continue
        final.append(kept[i])
        i += 1
    return (final if notes else None), notes


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
