"""The harness's side inside the runtime: one pytest session that streams typed events.

This file is shipped into Pyodide as-is and imports nothing but pytest and the
standard library (like pytest-xdist's ``remote.py``). The host gives it a JSON
configuration; it runs ONE ``pytest.main`` over the whole selection and calls
``emit(dict)`` for every event: what was collected, each phase report
(serialized with pytest's own ``pytest_report_to_serializable``), warnings and
the end of the session. The host turns those events back into pytest reports.

Selection happens here, before any test runs, so the runtime never waits on the
host: ``-k``/``-m`` (with the runtime's name added as a keyword, so ``-k node``
selects a runtime), the shard, and the tests already done before a restart.

One exception: with ``schedule: "load"`` (several instances of a runtime) the
session runs only the tests the host sends it, as they come, like a
pytest-xdist worker (see ``InnerPlugin.pytest_runtestloop``).

With ``coverage`` options (``--pyodide-cov``) coverage.py measures the session
(``RuntimeCoverage``); it is imported only then, and must be installed in the runtime.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pytest

#: Version of the options the host sends and of the events sent back; the host and
#: this file come from the same installation, so a mismatch means a stale copy.
PROTOCOL_VERSION = 3

Emit = Callable[[dict[str, Any]], None]
# The host's next command line, waiting at most the given milliseconds (None: nothing yet).
Receive = Callable[[int], "str | None"]
RECEIVE_WAIT_MS = 500  # between waits Python runs, so an interrupt still lands


# What every serialized TestReport holds; a report with nothing else (and nothing
# in the fields below) takes the fast path in ``InnerPlugin._test_report``.
PLAIN_REPORT_FIELDS = frozenset({
    "nodeid", "location", "keywords", "outcome", "longrepr", "when", "user_properties",
    "sections", "duration", "start", "stop",
})
# Left out of test reports: the host has them from ``collected`` (location,
# keywords) or they are empty (it restores the defaults).
OMITTED_FIELDS = ("location", "keywords")
EMPTY_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("longrepr", None), ("sections", []), ("user_properties", []),
)

PYTEST_TIMEOUT_INI = ("timeout_method", "timeout_func_only", "timeout_disable_debugger_detection")


OPTIONS_MISMATCH = (
    "pyodide-harness: the host sent options of protocol version {got}, but the in-runtime "
    "plugin speaks version {expected}; the two come from different installations of "
    "pytest-pyodide-harness. Reinstall it (pip install --force-reinstall "
    "pytest-pyodide-harness) and clear stale copies."
)


@dataclass(frozen=True)
class CoverageOptions:
    """What coverage.py measures in the runtime (``--pyodide-cov``), as the host worked it out
    from the option and the project's coverage configuration."""

    source_pkgs: tuple[str, ...] = ()  # importable names: the wheel's packages, as installed
    source: tuple[str, ...] = ()  # directories of the test tree, relative to the rootdir
    omit: tuple[str, ...] = ()  # the project's omit patterns, also as installed paths
    branch: bool = True
    config_name: str = ""  # the project's coverage config file ("": none) and its text,
    config_text: str = ""  # so both ends read the same settings

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CoverageOptions:
        return cls(source_pkgs=tuple(data.get("source_pkgs", ())),
                   source=tuple(data.get("source", ())), omit=tuple(data.get("omit", ())),
                   branch=bool(data.get("branch", True)),
                   config_name=str(data.get("config_name", "")),
                   config_text=str(data.get("config_text", "")))


@dataclass(frozen=True)
class InnerOptions:
    """The in-runtime session's command line, as the host builds it.

    The same class types both ends: the host imports this file to build it, the
    runtime reads it back with ``from_json``, which checks ``version`` first.
    """

    runtime: str
    rootdir: str
    args: tuple[str, ...] = ()  # pytest options: selection, tracebacks, the suite's own
    paths: tuple[str, ...] = ()  # test paths and node ids, relative to rootdir
    collect_only: bool = False
    package: str = ""  # distribution name of the wheel under test
    top_level: tuple[str, ...] = ()  # its importable names, whose origin is checked
    timeout: float | None = None  # the harness's per-phase timeout (the suite's own wins)
    shard: tuple[int, int] | None = None  # (K, N): run the K-th of N shards
    skip: tuple[str, ...] = ()  # tests done before a restart
    schedule: Literal["all", "load"] = "all"  # load: run what the host sends (workers)
    # ini keys of the project's config that host plugins declare: declared here too (a
    # plugin present in the runtime declares them again, for real), so one missing here
    # is not an "unknown config option" (an error with filterwarnings = error)
    ini_keys: tuple[str, ...] = ()
    coverage: CoverageOptions | None = None  # --pyodide-cov: measure with coverage.py
    version: int = PROTOCOL_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InnerOptions:
        """Read the host's options; a version mismatch is a clear error, not a KeyError."""
        if data.get("version") != PROTOCOL_VERSION:
            raise RuntimeError(OPTIONS_MISMATCH.format(got=data.get("version"),
                                                       expected=PROTOCOL_VERSION))
        shard = data.get("shard")
        return cls(
            runtime=str(data["runtime"]), rootdir=str(data["rootdir"]),
            args=tuple(data.get("args", ())), paths=tuple(data.get("paths", ())),
            collect_only=bool(data.get("collect_only")), package=str(data.get("package", "")),
            top_level=tuple(data.get("top_level", ())), timeout=data.get("timeout"),
            shard=(int(shard[0]), int(shard[1])) if shard else None,
            skip=tuple(data.get("skip", ())),
            schedule="load" if data.get("schedule") == "load" else "all",
            ini_keys=tuple(data.get("ini_keys", ())),
            coverage=CoverageOptions.from_json(data["coverage"]) if data.get("coverage") else None,
        )


class PyodideTimeout(Exception):
    """Raised into a test by the host's watchdog (through Pyodide's interrupt buffer)."""


# Shown as "PyodideTimeout: Timeout (>5s) in node" in pytest's summaries, not with
# this file's module path, which means nothing to the suite's maintainer.
PyodideTimeout.__module__ = "builtins"


class HostInterrupt(KeyboardInterrupt):
    """The host's SIGINT while no timeout runs (a watchdog interrupt that landed after its
    test): it ends the session like Ctrl-C, but it is not the suite's own KeyboardInterrupt,
    which the host reproduces (``InnerPlugin.pytest_keyboard_interrupt``)."""


def missing_module(exc: BaseException | None) -> tuple[str, str] | None:
    """``(module, importer)`` when ``exc`` (or what caused it) is a module that could not be
    imported; the importer is the last frame of the traceback outside the import system."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)
                      if "importlib" not in f.filename and "<frozen" not in f.filename
                      and "/_pytest/" not in f.filename]
            return exc.name.split(".")[0], frames[-1] if frames else "?"
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def shard_of(nodeid: str, total: int) -> int:
    """The 1-based shard a test belongs to: stable across machines, runtimes and orders."""
    digest = hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


COVERAGE_DIR = "/tmp/pyodide-harness-coverage"  # where the project's coverage config is written


class RuntimeCoverage:
    """coverage.py measuring the session: started before pytest imports anything of the suite,
    what ran since the last test sent after every test (so a runtime that dies keeps what its
    finished tests ran), and everything once more at the end.

    A ``coverage`` event's ``files`` map the runtime's paths to line numbers, or with
    ``branch`` to ``[from, to]`` arcs; an empty list is a file measured but never run. What a
    test ran is what coverage's collector hands its ``CoverageData`` (``add_lines``,
    ``add_arcs``, ``touch_files``) when ``get_data`` flushes it: only the new data, so a test
    that runs no new line costs one check. Coverage's warnings come with the last event;
    coverage is imported only here.
    """

    def __init__(self, options: CoverageOptions, emit: Emit) -> None:
        self.options = options
        self.emit = emit
        self.cov: Any = None
        self.branch = options.branch
        self.new: dict[str, set[Any]] = {}  # what the collector flushed since the last event
        self.sent: dict[str, set[Any]] = {}  # what the host has
        self.tapped = False
        self.warnings: list[str] = []
        self.measured_by = ""  # "coverage.py 7.13.5, SysMonitor core": what measured

    def start(self) -> None:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                import coverage

                cov = coverage.Coverage(
                    data_file=None, config_file=self._config_file(), branch=self.options.branch,
                    source=list(self.options.source), source_pkgs=list(self.options.source_pkgs),
                    omit=list(self.options.omit), messages=False)
                cov.start()
        except Exception as exc:  # not installed, a config plugin missing in here: tests still run
            self._failed("could not start", exc)
            return
        self.cov = cov
        self.branch = bool(cov.get_option("run:branch"))
        with contextlib.suppress(Exception):  # the tracer coverage chose (sys.monitoring or not)
            core = dict(cov.sys_info()).get("core", "")
            self.measured_by = f"coverage.py {coverage.__version__}, {core} core"
        self.warnings += [str(w.message) for w in caught]

    def _config_file(self) -> str | bool:
        if not self.options.config_name:
            return False
        os.makedirs(COVERAGE_DIR, exist_ok=True)
        path = os.path.join(COVERAGE_DIR, os.path.basename(self.options.config_name))
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.options.config_text)
        return path

    def _failed(self, what: str, exc: BaseException) -> None:
        self.emit({"event": "coverage", "branch": self.branch, "files": {},
                   "error": f"coverage.py {what}: {type(exc).__name__}: {exc}"})

    def flush(self) -> None:
        """After a test: send what ran since the last event (nothing when nothing new ran)."""
        if self.cov is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # said again, once, at the end
                data = self.cov.get_data()
            if not self.tapped:  # the first time: what ran while pytest collected, then taps
                self._tap(data)
                found = self._everything(data)
            else:
                found, self.new = self.new, {}
        except Exception as exc:
            self._failed("failed while measuring; coverage stopped", exc)
            self._stop()
            return
        files = {}  # a tracer may hand over again what it saw before (pytrace does)
        for path, items in found.items():
            sent = self.sent.get(path)
            if sent is None or not items <= sent:
                files[path] = items - sent if sent is not None else items
        if files:
            self._send(files)

    def finish(self) -> None:
        """At the end of the session: everything measured, with coverage's warnings."""
        if self.cov is None:
            return
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.cov.stop()
                data = self.cov.get_data()
            files = self._everything(data)
        except Exception as exc:
            self._failed("failed at the end of the session", exc)
            return
        finally:
            self.cov = None
        self._send(files, final=True,
                   notes=list(dict.fromkeys([*self.warnings, *(str(w.message) for w in caught)])))

    def _stop(self) -> None:
        with contextlib.suppress(Exception):
            self.cov.stop()
        self.cov = None

    def _tap(self, data: Any) -> None:
        """Note what the collector adds to ``data`` from now on (``data`` still gets it)."""
        add_lines, add_arcs, touch_files = data.add_lines, data.add_arcs, data.touch_files

        def lines(line_data: Mapping[str, Any]) -> None:
            self._note(line_data)
            add_lines(line_data)

        def arcs(arc_data: Mapping[str, Any]) -> None:
            self._note(arc_data)
            add_arcs(arc_data)

        def touch(filenames: Any, *args: Any, **kwargs: Any) -> None:
            self._note({f: () for f in filenames if f not in self.sent})
            touch_files(filenames, *args, **kwargs)

        data.add_lines, data.add_arcs, data.touch_files = lines, arcs, touch
        self.tapped = True

    def _note(self, found: Mapping[str, Any]) -> None:
        for path, items in found.items():
            self.new.setdefault(path, set()).update(items)

    def _everything(self, data: Any) -> dict[str, set[Any]]:
        return {path: set((data.arcs(path) if self.branch else data.lines(path)) or ())
                for path in data.measured_files()}

    def _send(self, files: Mapping[str, set[Any]], final: bool = False,
              notes: list[str] | None = None) -> None:
        for path, items in files.items():
            self.sent.setdefault(path, set()).update(items)
        event: dict[str, Any] = {"event": "coverage", "branch": self.branch,
                                 "files": {path: sorted(items) for path, items in files.items()}}
        if final:
            event.update(final=True, warnings=notes or [], measured_by=self.measured_by)
        self.emit(event)


class InnerPlugin:
    """Registered into the in-runtime pytest session; every hook here emits an event."""

    def __init__(self, emit: Emit, options: InnerOptions, take_async_errors: Callable[[], list[str]],
                 receive: Receive | None = None, coverage: RuntimeCoverage | None = None):
        self.emit = emit
        self.coverage = coverage
        self.receive = receive
        self.options = options
        self.runtime: str = options.runtime
        self.take_async_errors = take_async_errors
        self.deselected: list[str] = []
        self.config: pytest.Config | None = None
        self.current_timeout: float | None = None
        self.current_nodeid = ""  # the test between its logstart and logfinish
        self.collected_sent = False
        self.fast_reports = False  # no plugin serializes reports its own way
        self.default_timeout: Any = None  # the suite's --timeout / ini, else the harness's

    # -- helpers -----------------------------------------------------------------------
    def _serialize(self, report: pytest.CollectReport | pytest.TestReport) -> dict[str, Any]:
        """The report as pytest serializes it for a worker; when a plugin's serializer fails
        on it, pytest's own form of a plain report (the outcome is what counts).

        pytest's subtests plugin copies a subtest's context with ``dataclasses.asdict``,
        which deep-copies the test's arguments: an ``itertools.count`` there cannot be
        copied on Python 3.14, and the test would fail in the runtime only because its
        report was sent (more-itertools)."""
        assert self.config is not None
        try:
            data: dict[str, Any] = self.config.hook.pytest_report_to_serializable(
                config=self.config, report=report)
        except Exception:
            if not isinstance(report, pytest.TestReport):
                raise
            plain = pytest.TestReport(
                report.nodeid, report.location, dict(report.keywords), report.outcome,
                report.longrepr, report.when, report.sections, report.duration, report.start,
                report.stop, report.user_properties)
            data = self.config.hook.pytest_report_to_serializable(config=self.config,
                                                                  report=plain)
        return data

    def _test_report(self, report: pytest.TestReport) -> dict[str, Any]:
        """A phase report, without what the host already knows or empty fields.

        Most reports are plain passes: those are built directly, which is what
        pytest's own serializer would give, minus the omitted fields.
        """
        if (self.fast_reports and type(report) is pytest.TestReport
                and report.longrepr is None and not report.sections
                and not report.user_properties and PLAIN_REPORT_FIELDS.issuperset(vars(report))):
            return {"nodeid": report.nodeid, "outcome": report.outcome, "when": report.when,
                    "duration": report.duration, "start": report.start, "stop": report.stop,
                    "$report_type": "TestReport"}
        data = self._serialize(report)
        for name in OMITTED_FIELDS:
            data.pop(name, None)
        for name, empty in EMPTY_DEFAULTS:
            if name in data and data[name] == empty:
                del data[name]
        return data

    # -- session -------------------------------------------------------------------------
    def pytest_addoption(self, parser: pytest.Parser) -> None:
        # pytest-timeout is disabled in here (its signal method needs setitimer, which
        # Pyodide lacks); its option and ini keys keep their meaning, for our watchdog,
        # so suites that configure it run unmodified.
        parser.addoption("--timeout", default=None, help="Per-test timeout (pyodide-harness)")
        parser.addini("timeout", "Per-test timeout in seconds (enforced by pyodide-harness)")
        for name in PYTEST_TIMEOUT_INI:
            parser.addini(name, "pytest-timeout setting (no meaning inside Pyodide)")
        known = getattr(parser, "_inidict", {})  # pytest's own keys keep their types
        for name in self.options.ini_keys:
            if name not in known:
                parser.addini(name, "declared by a plugin on the host (pyodide-harness)")

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config
        config.addinivalue_line("markers", "timeout(seconds): per-test timeout (pyodide-harness)")
        signal.signal(signal.SIGINT, self._on_interrupt)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        if self.current_timeout is None:
            raise HostInterrupt
        raise PyodideTimeout(f"Timeout (>{self.current_timeout:g}s) in {self.runtime}")

    def _timeout_for(self, item: pytest.Item) -> float | None:
        """The test's timeout marker, else the suite's ``timeout`` ini, else the harness's."""
        marker = item.get_closest_marker("timeout")
        value: Any = None
        if marker is not None:
            value = marker.kwargs.get("timeout", marker.args[0] if marker.args else None)
        if value is None:
            value = self.default_timeout
        try:
            seconds = float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            seconds = 0.0
        return seconds if seconds > 0 else None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        config = session.config  # looked up once, not for every test
        value = config.getoption("timeout") or config.getini("timeout") or None
        self.default_timeout = value if value is not None else self.options.timeout
        self.emit(
            {
                "event": "session_started",
                "protocol_version": PROTOCOL_VERSION,
                "pytest_version": pytest.__version__,
                "python_version": sys.version.split()[0],
                "platform": sys.platform,
                "rootdir": str(session.config.rootpath),
            }
        )

    # -- missing modules (a test dependency not installed in the runtime) -----------------
    def _missing(self, exc: BaseException | None, nodeid: str) -> None:
        found = missing_module(exc)
        if found is not None:
            self.emit({"event": "module_missing", "module": found[0], "importer": found[1],
                       "nodeid": nodeid})

    @pytest.hookimpl(wrapper=True)
    def pytest_load_initial_conftests(self) -> Iterator[None]:
        try:
            return (yield)
        except Exception as exc:  # a conftest that imports what the runtime lacks
            self._missing(exc, "")
            raise

    def pytest_exception_interact(self, node: Any, call: Any, report: Any) -> None:
        if isinstance(report, pytest.CollectReport) and call.excinfo is not None:
            self._missing(call.excinfo.value, report.nodeid)

    # -- collection ----------------------------------------------------------------------
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.passed:
            self.emit({"event": "collect_report", "report": self._serialize(report)})

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Before -k is evaluated: make the runtime's name a keyword of every test.
        for item in items:
            item.extra_keyword_matches.add(self.runtime)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected.extend(item.nodeid for item in items)

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session: pytest.Session) -> Iterator[None]:
        result = yield
        self._select(session)
        self._report_collected(session)
        return result

    def _select(self, session: pytest.Session) -> None:
        """Apply the shard and the resume point (tests done before a restart)."""
        shard = self.options.shard
        done = set(self.options.skip)
        if not shard and not done:
            return
        items = session.items
        dropped = [i for i in items if shard and shard_of(i.nodeid, shard[1]) != shard[0]]
        items = [i for i in items if not shard or shard_of(i.nodeid, shard[1]) == shard[0]]
        dropped += [i for i in items if i.nodeid in done]
        if dropped:
            session.config.hook.pytest_deselected(items=dropped)
        session.items[:] = [i for i in items if i.nodeid not in done]

    def _report_collected(self, session: pytest.Session) -> None:
        items = []
        for item in session.items:
            keywords = sorted(
                {str(k) for k in item.keywords}
                | {m.name for m in item.iter_markers()}
                | set(item.listextrakeywords())
            )
            items.append(
                {
                    "nodeid": item.nodeid,
                    "location": list(item.location),
                    "keywords": keywords,
                }
            )
        self.collected_sent = True
        # conftest plugins are registered by now: if only pytest's own modules
        # serialize reports, plain reports may skip the hook.
        assert self.config is not None
        serializers = self.config.hook.pytest_report_to_serializable.get_hookimpls()
        self.fast_reports = all(
            str(getattr(h.plugin, "__name__", "")).startswith("_pytest.") for h in serializers
        )
        self.emit(
            {
                "event": "collected",
                "items": items,
                "deselected": self.deselected,
                "import_origins": self._import_origins(),
            }
        )

    def _import_origins(self) -> dict[str, dict[str, Any]]:
        """Where each top-level name of the wheel under test is imported from.

        Checked after collection, when conftest files have changed ``sys.path``,
        so a source tree that would shadow the installed wheel shows up here.
        """
        origins: dict[str, dict[str, Any]] = {}
        dist_name = self.options.package
        wheel_files: set[str] = set()
        if dist_name:
            try:
                dist = importlib.metadata.distribution(dist_name)
                wheel_files = {
                    os.path.realpath(str(dist.locate_file(f))) for f in (dist.files or [])
                }
            except importlib.metadata.PackageNotFoundError:
                pass
        for name in self.options.top_level:
            module = sys.modules.get(name)
            origin: str | None = getattr(module, "__file__", None) if module else None
            if origin is None:
                try:
                    spec = importlib.util.find_spec(name)
                except (ImportError, ValueError):
                    spec = None
                origin = spec.origin if spec is not None else None
            real = os.path.realpath(origin) if origin else None
            origins[name] = {
                "file": origin,
                "in_wheel": bool(real and real in wheel_files),
            }
        return origins

    # -- running -------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """Run the tests the host sends (``schedule: "load"``), like an xdist worker.

        The host sends ``{"run": [nodeid, ...]}`` and, when nothing is left for this
        instance, ``{"shutdown": true}``. A test runs once the one after it is known
        (or the shutdown came), so ``nextitem`` tears down exactly what pytest's own
        loop would, and fixtures shared by neighbours are set up once per run of tests.
        """
        if self.options.schedule != "load":
            return None  # pytest's own loop runs the whole selection
        if session.testsfailed and not session.config.option.continue_on_collection_errors:
            raise session.Interrupted(
                f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} "
                "during collection")
        if session.config.option.collectonly:
            return True
        by_id = {item.nodeid: item for item in session.items}
        todo: collections.deque[pytest.Item] = collections.deque()
        shutdown = False
        while True:
            if not shutdown and len(todo) < 2:
                shutdown = self._take_commands(by_id, todo)
                continue
            if not todo:
                return True
            item = todo.popleft()
            nextitem = todo[0] if todo else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)

    def _take_commands(self, by_id: dict[str, pytest.Item], todo: collections.deque[pytest.Item]) -> bool:
        """Wait for the host's next command(s); True once it said shutdown."""
        assert self.receive is not None, "schedule 'load' needs a channel from the host"
        wait = RECEIVE_WAIT_MS
        shutdown = False
        while True:
            line = self.receive(wait)
            if line is None:
                if wait:
                    continue  # still waiting: the host sends when it has tests
                return shutdown
            wait = 0  # got one: take whatever else is there, without waiting
            command = json.loads(line)
            for nodeid in command.get("run", ()):
                if nodeid not in by_id:
                    raise RuntimeError(f"the host sent {nodeid!r}, which this session did not collect")
                todo.append(by_id[nodeid])
            shutdown = shutdown or bool(command.get("shutdown"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.current_timeout = self._timeout_for(item)
        try:
            return (yield)
        finally:
            self.current_timeout = None

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.current_nodeid = nodeid
        started: dict[str, Any] = {"event": "test_started", "nodeid": nodeid}
        if self.current_timeout is not None:
            started["timeout"] = self.current_timeout
        self.emit(started)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        # Errors the JS event loop raised while the test ran (an uncaught socket
        # error in Node) would otherwise kill the runtime: they fail this test.
        self.take_async_errors()
        try:
            result = yield
        finally:
            errors = self.take_async_errors()
        if errors:
            raise RuntimeError(
                f"uncaught JavaScript error in {self.runtime} during this test:\n"
                + "\n".join(errors)
            )
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.emit({"event": "test_report", "report": self._test_report(report)})

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.current_nodeid = ""
        if self.coverage is not None:  # before the test is done: a crash after it keeps its data
            self.coverage.flush()
        self.emit({"event": "test_finished", "nodeid": nodeid})

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """The suite ended the session as pytest lets it (KeyboardInterrupt from a test, a
        fixture or a module, or ``pytest.exit``): the host is told what and where, and ends
        its run the same way. pytest's own stops (collection errors, ``session.shouldstop``)
        and the host's interrupt are not the suite's: the host sees those by itself."""
        value = excinfo.value
        if isinstance(value, HostInterrupt | pytest.Session.Interrupted):
            return
        crash = excinfo.getrepr(funcargs=True).reprcrash
        event: dict[str, Any] = {
            "event": "interrupted", "nodeid": self.current_nodeid,
            "message": crash.message if crash is not None else excinfo.exconly(),
            "path": crash.path if crash is not None else "",
            "lineno": crash.lineno if crash is not None else 0,
        }
        if isinstance(value, pytest.exit.Exception):
            event.update(exit=True, message=value.msg, returncode=value.returncode)
        self.emit(event)

    def pytest_warning_recorded(
        self,
        warning_message: warnings.WarningMessage,
        when: str,
        nodeid: str,
        location: tuple[str, int, str] | None,
    ) -> None:
        self.emit(
            {
                "event": "warning",
                "message": str(warning_message.message),
                "category": type(warning_message.message).__name__,
                "filename": warning_message.filename,
                "lineno": warning_message.lineno,
                "when": when,
                "nodeid": nodeid,
            }
        )

    def pytest_internalerror(self, excrepr: Any, excinfo: Any) -> None:
        # pytest prints it and exits with 3; the host must learn why, not only the status.
        self.emit({"event": "internal_error", "text": str(excrepr)})

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.emit({"event": "session_finished", "exitstatus": int(exitstatus)})


def pytest_args(options: InnerOptions) -> list[str]:
    """The in-runtime pytest command line the host asked for."""
    args = ["-p", "no:cacheprovider", "-p", "no:timeout", f"--rootdir={options.rootdir}"]
    args += options.args
    if options.collect_only:
        args.append("--collect-only")
    args += options.paths
    return args


def run(options: InnerOptions, emit: Emit, take_async_errors: Callable[[], list[str]] | None = None,
        receive: Receive | None = None) -> int:
    """Run one in-runtime pytest session; never raises, the host learns everything via emit."""
    coverage = RuntimeCoverage(options.coverage, emit) if options.coverage is not None else None
    plugin = InnerPlugin(emit, options, take_async_errors or (lambda: []), receive, coverage)
    started = time.perf_counter()
    stderr = _Tee(sys.stderr)
    try:
        os.chdir(options.rootdir)
        sys.stderr = stderr
        if coverage is not None:
            coverage.start()  # before pytest imports the suite, its conftests and the package
        status = int(pytest.main(pytest_args(options), plugins=[plugin]))
    except BaseException as exc:  # SystemExit from a conftest, internal errors: all are data
        emit({"event": "internal_error", "text": "".join(traceback.format_exception(exc))})
        status = 3
    else:
        if not plugin.collected_sent and status in (3, 4):
            # A usage error (an addopts plugin missing in here, a bad option) ends
            # pytest before collection, with its reason only on stderr.
            emit({"event": "internal_error", "text": stderr.getvalue().strip()
                  or f"pytest exited with status {status} before collecting"})
    finally:
        sys.stderr = stderr.target
        if coverage is not None:
            coverage.finish()
    emit({"event": "done", "exitstatus": status, "seconds": time.perf_counter() - started})
    return status


class _Tee(io.StringIO):
    """Keeps what pytest writes to stderr, and still writes it through."""

    def __init__(self, target: Any) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(text)
        return super().write(text)


def main(options_json: str) -> int:
    """Entry point used by the JS bootstrap: the bridge module provides emit."""
    import pyodide_harness_bridge as bridge  # type: ignore[import-not-found]  # registered by the JS side

    def emit(event: dict[str, Any]) -> None:
        bridge.emit(json.dumps(event, default=str, ensure_ascii=True, separators=(",", ":")))

    def take_async_errors() -> list[str]:
        errors = bridge.takeAsyncErrors()  # undefined (None) when there are none: cheap
        return [str(e) for e in errors] if errors is not None else []

    def receive(wait_ms: int) -> str | None:
        line = bridge.receive(wait_ms)  # blocks in Atomics.wait, at most wait_ms
        return str(line) if line is not None else None

    try:
        options = InnerOptions.from_json(json.loads(options_json))
    except Exception as exc:  # a stale or foreign host: say so instead of a KeyError
        emit({"event": "internal_error", "text": str(exc)})
        emit({"event": "done", "exitstatus": 3, "seconds": 0.0})
        return 3
    return run(options, emit, take_async_errors, receive)
