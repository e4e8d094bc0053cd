"""The host side of a run, as a pytest plugin object registered by ``plugin.py``.

Like pytest-xdist's controller, the host never imports the test modules. Each
runtime collects and runs the suite in one in-runtime pytest session and
streams events; this object turns them into one host item per (test, runtime),
with node ids like ``tests/test_x.py::test_y[1]@node``, and feeds pytest's own
reporting hooks (terminal, ``--junitxml``, ``-x``, exit status) with the
rebuilt reports.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from . import dependencies, distribution, protocol, wheels
from .controller import Controller, Supervision
from .errors import HarnessError
from .gate import Gate
from .protocol import Event
from .recorder import Recorder
from .runners import RuntimeConfig, RuntimeJob, create
from .settings import Settings
from .testtree import build_archive, relative_args

INNER_SOURCE = Path(__file__).resolve().parent / "inner" / "pyodide_harness_inner.py"
RUNTIME_SEP = "@"
RUNTIME_PROJECT_DIR = "/home/pyodide/project"  # where js/harness_core.mjs unpacks the tree

PACKAGE_SHADOWED = (
    "{runtime}: {name} was imported from {file}, which is not inside the installed wheel "
    "{wheel}. A source copy of the package in the test tree shadows the wheel under test; "
    "move the source under src/ or make sure nothing puts the project root on sys.path."
)
PACKAGE_MISSING = (
    "{runtime}: {name} (from {wheel}) cannot be imported in the runtime after installation; "
    "check the wheel's contents and `pyodide.loadPackage` messages above."
)
RUNTIME_DIED = "{reason} while running {nodeid}"
ROOTDIR_MISPLACED = (
    "pytest chose rootdir {rootdir}, not {project} where {config_file} is: an option value "
    "given as a separate argument ({values}) lies outside the project, and pytest takes it for "
    "a test path when it picks the rootdir. Write the option with '=' (--pyodide-wheel=PATH) "
    "or pass --rootdir={project}."
)
CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
NOT_RUN = "not run: {runtime} stopped before this test ({why})"
RESTARTING = "{runtime}: restarting ({attempt}/{cap}) after: {reason}"
RESTART_CAP = ("{runtime}: stopped after {restarts} restart(s) (--pyodide-max-restarts={cap}); "
               "{count} test(s) not run")


def host_nodeid(nodeid: str, runtime: str) -> str:
    """The host's id for a suite test in one runtime: the suite's id plus ``@runtime``."""
    return f"{nodeid}{RUNTIME_SEP}{runtime}"


def split_runtime_args(args: list[str], runtimes: tuple[str, ...]) -> dict[str, list[str] | None]:
    """Route node ids copied from our output (``test_x.py::test_y@node``) to their runtime.

    Plain paths go to every runtime. A runtime left with nothing while other runtimes
    got their own ids maps to None: it has nothing to run.
    """
    plain: list[str] = []
    own: dict[str, list[str]] = {name: [] for name in runtimes}
    for arg in args:
        base, sep, runtime = arg.rpartition(RUNTIME_SEP)
        if sep and "::" in base and runtime in own:
            own[runtime].append(base)
        else:
            plain.append(arg)
    specific = any(own.values())
    return {name: ([*plain, *own[name]] if own[name] or plain or not specific else None)
            for name in runtimes}


class PyodideItem(pytest.Item):
    """One test of the suite in one runtime; it is run by the runtime, never here."""

    def __init__(self, *, suite_nodeid: str, runtime: str,
                 suite_location: tuple[str, int | None, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite_nodeid = suite_nodeid
        self.runtime = runtime
        self.suite_location = suite_location
        self.deselected = False  # deselected inside the runtime (-k, -m, shard, conftest)

    def runtest(self) -> None:  # pragma: no cover - the runtime runs it
        raise NotImplementedError("run inside the Pyodide runtime")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        path, lineno, domain = self.suite_location
        return self.session.config.rootpath / path, lineno, f"{domain}{RUNTIME_SEP}{self.runtime}"


@dataclass
class RuntimeState:
    """What the host knows about one runtime instance during the run.

    With ``--pyodide-workers N`` a runtime runs as N instances ("node", "node#2", ...)
    that share the runtime's items and its set of reported tests; each is handed
    tests as it goes (``scheduling.py``), so ``assigned`` is the runtime's whole
    selection and ``ran`` what this instance ran.
    """

    name: str  # the instance: "node", "node#2"
    runtime: str = ""  # the runtime, as in node ids: "node"
    primary: bool = True  # reports collection errors and import origins for the runtime
    environment: dict[str, str] = field(default_factory=dict)
    items: dict[str, PyodideItem] = field(default_factory=dict)  # suite nodeid -> item
    assigned: set[str] = field(default_factory=set)  # tests this instance runs
    collected: bool = False
    finished: bool = False
    current: str | None = None  # suite nodeid of the test being run
    phases_seen: set[str] = field(default_factory=set)
    reported: set[str] = field(default_factory=set)  # suite nodeids with a final report
    collect_errors: list[pytest.CollectReport] = field(default_factory=list)
    exitstatus: int | None = None
    failures: int = 0
    errors: int = 0
    gate_failed: set[str] = field(default_factory=set)  # tests the gate saw fail
    ran: int = 0  # tests this instance finished

    def __post_init__(self) -> None:
        self.runtime = self.runtime or self.name

    @property
    def total(self) -> int:
        return len(self.assigned)

    def progress(self, siblings: list[RuntimeState] | None = None) -> str:
        """``node 10/40, 1 failed``; with siblings, the runtime's figures over all instances."""
        group = [self, *(siblings or ())]
        failures = sum(s.failures for s in group)
        errors = sum(s.errors for s in group)
        failed = f", {failures} failed" if failures else ""
        errored = f", {errors} error{'s' if errors != 1 else ''}" if errors else ""
        done = len(self.assigned & self.reported)
        workers = f" ({len(group)} workers)" if len(group) > 1 else ""
        return f"{self.runtime}{workers} {done}/{self.total}{failed}{errored}"


class HarnessSession:
    """Registered as a plugin when ``--pyodide-wheel`` is given."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.intake: wheels.WheelIntake | None = None
        self.states: dict[str, RuntimeState] = {}
        self.controller: Controller | None = None
        self._events: Iterator[tuple[str, Event]] | None = None
        self._backlog: list[tuple[str, Event]] = []
        self._last_progress = time.monotonic()
        self._tmp: Path | None = None
        self._collecting = True
        self.gate = Gate()
        self.recorder: Recorder | None = None
        self.package_name = ""
        self._previous_sigterm: Any = None

    # -- before anything boots -------------------------------------------------------------
    def check_inputs(self) -> None:
        """Wheel and file checks that need no runtime; errors are usage errors (exit 4)."""
        base = self.config.invocation_params.dir
        self._check_rootdir(base)
        self.intake = wheels.collect_wheels(self.settings.wheels, base)
        self.gate = Gate.load(self.settings.baseline, list(self.settings.xfail))
        for path in self.settings.requirements_files:
            if not (base / path).is_file():
                raise HarnessError(
                    f"--pyodide-requirements {path}: no such file (relative to {base})"
                )

    def _check_rootdir(self, base: Path) -> None:
        """Catch a rootdir moved up by a path-valued option of ours given without '='."""
        if self.config.inipath is not None or self.config.option.rootdir:
            return
        rootpath = self.config.rootpath
        separated = [a for a in self.config.invocation_params.args
                     if not str(a).startswith("-") and Path(base, a).exists()]
        for directory in (base, *base.parents):
            if directory == rootpath:
                return
            found = [n for n in CONFIG_FILES if (directory / n).is_file()]
            if found:
                raise HarnessError(ROOTDIR_MISPLACED.format(
                    rootdir=rootpath, project=directory, config_file=found[0],
                    values=", ".join(str(a) for a in separated) or "?"))

    @property
    def tr(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def _say(self, text: str) -> None:
        if self.tr is not None:
            self.tr.write_line(f"pyodide-harness: {text}")

    def _requirements(self) -> list[str]:
        s = self.settings
        root = self.config.rootpath
        reqs = list(s.requirements)
        base = self.config.invocation_params.dir
        for path in s.requirements_files:
            reqs += dependencies.read_requirements_file(base / path)
        for group in s.dependency_groups:
            reqs += dependencies.dependency_group(root, group)
        if not s.explicit_requirements:
            reqs += dependencies.test_requirements_from_project(root)
        return reqs

    def _resolve(self, under_test: list[tuple[Path, tuple[str, ...]]]) -> dependencies.Resolution:
        """Dependencies plus pytest, at the host's version where that version is published."""
        reqs = self._requirements()
        version = pytest.__version__
        if "dev" not in version and "+" not in version:
            try:
                return dependencies.resolve(under_test, [f"pytest=={version}", *reqs], log=self._say)
            except HarnessError as exc:
                if f"pytest=={version}" not in str(exc):
                    raise
                self._say(f"pytest {version} (the host's) has no wheel for Pyodide here; "
                          "using the newest pytest")
        return dependencies.resolve(under_test, ["pytest", *reqs], log=self._say)

    def _prepare(self) -> list[tuple[Any, RuntimeJob]]:
        assert self.intake is not None
        s = self.settings
        for path, why in self.intake.skipped:
            self._say(f"skipped {path.name}: {why}")
        dist = distribution.obtain_distribution(s.pyodide_version, s.pyodide_dist, log=self._say)
        self._say(f"Pyodide {dist.version} ({dist.source}: {dist.path})")
        under_test = [(w.path, w.extras) for w in self.intake.wheels]
        resolution = self._resolve(under_test)
        self._tmp = Path(tempfile.mkdtemp(prefix="pyodide-harness-"))
        top_level = [n for w in self.intake.wheels for n in w.top_level]
        tree = build_archive(self.config.rootpath, top_level, self._tmp / "tests.zip")
        left_out = f"; left out {', '.join(tree.excluded)}" if tree.excluded else ""
        self._say(f"test tree: {tree.files} files, {tree.size // 1024} KiB{left_out}")
        installs = (*resolution.wheels, *(w.path for w in self.intake.wheels))
        self._say(f"installing {', '.join(w.path.name for w in self.intake.wheels)} with "
                  f"{len(resolution.wheels)} dependencies")
        base_options = self._inner_options(top_level)
        if s.workers_note:
            self._say(s.workers_note)
        main = self.intake.wheels[0]
        self.package_name = main.name
        if s.report_dir is not None:
            self.recorder = Recorder(s.report_dir)
            self.recorder.package(main.name, main.version, main.path.name, main.sha256, {
                "tags": ", ".join(sorted(main.tags)),
                "requires_dist": "; ".join(main.requires_dist),
                "other_wheels": ", ".join(w.path.name for w in self.intake.wheels[1:]),
                "dependencies": ", ".join(p.name for p in resolution.wheels),
            })
        rconfig = RuntimeConfig(node=s.node, browser_paths=dict(s.browser_paths), sockfs=s.sockfs)
        work = []
        paths = split_runtime_args(base_options["paths"], s.runtimes)
        for name in s.runtimes:
            if paths[name] is None:
                self._say(f"{name}: nothing selected by the given node ids; not started")
                continue
            if self.recorder is not None:
                self.recorder.runtime(main.name, name, {})
            items: dict[str, PyodideItem] = {}
            reported: set[str] = set()
            for index in range(s.workers):
                instance = name if index == 0 else f"{name}#{index + 1}"
                self.states[instance] = RuntimeState(instance, name, index == 0, items=items,
                                                     reported=reported)
                options = {**base_options, "runtime": name, "paths": paths[name]}
                if s.workers > 1:  # the instances share the tests (scheduling.py)
                    options["schedule"] = "load"
                job = RuntimeJob(
                    distribution=dist.path,
                    wheels=tuple(installs),
                    archive=tree.archive,
                    inner=INNER_SOURCE,
                    options=options,
                    workdir=self._tmp / instance.replace("#", "-"),
                    instance=instance,
                )
                work.append((create(name, rconfig), job))
        return work

    def _inner_options(self, top_level: list[str]) -> dict[str, Any]:
        """The in-runtime session's command line, derived from the host's."""
        assert self.intake is not None
        opt = self.config.option
        root = self.config.rootpath
        inv = self.config.invocation_params.dir
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
        for w in getattr(self.config.known_args_namespace, "pythonwarnings", None) or ():
            extra += ["-W", w]
        for o in opt.override_ini or ():
            extra += ["-o", o]
        if getattr(opt, "strict_markers", False):
            extra.append("--strict-markers")
        if opt.runxfail:
            extra.append("--runxfail")
        if opt.importmode:
            extra.append(f"--import-mode={opt.importmode}")
        for d in opt.deselect or ():
            extra.append(f"--deselect={d}")
        for ignore in opt.ignore or ():
            extra += [f"--ignore={a}" for a in relative_args([ignore], inv, root)]
        for ignore in opt.ignore_glob or ():
            extra.append(f"--ignore-glob={ignore}")
        inipath = self.config.inipath
        if inipath is not None and inipath.is_relative_to(root):
            extra += ["-c", inipath.relative_to(root).as_posix()]
        main = self.intake.wheels[0]
        return {
            "paths": relative_args([str(a) for a in self.config.args], inv, root),
            "extra_args": extra,
            "collect_only": bool(opt.collectonly),
            "package": main.name,
            "top_level": top_level,
            "timeout": self.settings.timeout,
            "shard": list(self.settings.shard) if self.settings.shard else None,
        }

    # -- collection -------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        try:
            work = self._prepare()
        except HarnessError as exc:
            pytest.exit(str(exc), returncode=exc.exit_code)
        s = self.settings
        self.controller = Controller(work, Supervision(
            default_timeout=s.timeout or None, max_restarts=s.max_restarts))
        self.controller.start()
        self._events = self.controller.events()
        self._say("started " + ", ".join(self.states) + " (booting Pyodide, installing wheels)")
        while not all(s.collected or s.finished for s in self.states.values()):
            name, event = next(self._events)
            self._handle(name, event)
        self._collecting = False
        self._finish_collection(session)
        return True

    def _finish_collection(self, session: pytest.Session) -> None:
        hook = self.config.hook
        items: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for state in self.states.values():
            for rep in state.collect_errors:
                hook.pytest_collectreport(report=rep)
            if not state.primary:
                continue  # its items are the primary instance's
            runtime_items = list(state.items.values())
            chosen = [i for i in runtime_items if not i.deselected]
            deselected += [i for i in runtime_items if i.deselected]
            result: list[pytest.Item | pytest.Collector] = [*runtime_items]
            hook.pytest_collectreport(
                report=pytest.CollectReport(nodeid="", outcome="passed", longrepr=None, result=result)
            )
            items += chosen
        if deselected:
            hook.pytest_deselected(items=deselected)
        session.items = items
        # -k and -m were applied inside each runtime, with the runtime's name as a
        # keyword; the host's items have no marks, so the host must not apply -m again.
        opt = self.config.option
        saved = opt.keyword, opt.markexpr
        opt.keyword, opt.markexpr = "", ""
        try:
            hook.pytest_collection_modifyitems(session=session, config=self.config, items=items)
        finally:
            opt.keyword, opt.markexpr = saved
        hook.pytest_collection_finish(session=session)
        session.testscollected = len(session.items)

    def _make_items(self, state: RuntimeState, event: protocol.Collected) -> None:
        """One host item per suite test; deselected ones too, so pytest counts them."""
        session = self.config.stash.get(_SESSION_KEY, None)
        assert session is not None
        deselected = [
            protocol.CollectedItem(d, (d.split("::")[0], None, d.rsplit("::", 1)[-1]), [])
            for d in event.deselected
        ]
        state.assigned.update(i.nodeid for i in event.items)
        for ci, is_deselected in [*((i, False) for i in event.items),
                                  *((i, True) for i in deselected)]:
            existing = state.items.get(ci.nodeid)
            if existing is not None:  # a resumed session, or another instance's deselection
                existing.deselected = existing.deselected and is_deselected
                continue
            name = ci.nodeid.rsplit("::", 1)[-1]
            item = PyodideItem.from_parent(
                session,
                name=f"{name}{RUNTIME_SEP}{state.runtime}",
                nodeid=host_nodeid(ci.nodeid, state.runtime),
                suite_nodeid=ci.nodeid,
                runtime=state.runtime,
                suite_location=ci.location,
            )
            item.extra_keyword_matches.update(ci.keywords)
            item.extra_keyword_matches.add(state.runtime)
            item.deselected = is_deselected
            state.items[ci.nodeid] = item

    # -- running ------------------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not self.config.option.continue_on_collection_errors:
            raise session.Interrupted(
                f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} "
                "during collection"
            )
        if self.config.option.collectonly:
            return True
        assert self._events is not None
        backlog, self._backlog = self._backlog, []
        for name, event in backlog:
            self._handle(name, event)
            self._check_stop(session)
        for name, event in self._events:
            self._handle(name, event)
            self._check_stop(session)
        for state in self.states.values():
            self._report_not_run(state, "the runtime ended without running it")
        return True

    def _check_stop(self, session: pytest.Session) -> None:
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)

    def _handle(self, name: str, event: Event) -> None:
        """Dispatch one event; the match is exhaustive over the protocol's event types."""
        state = self.states[name]
        if self._collecting and isinstance(
            event, protocol.TestStarted | protocol.TestReport | protocol.TestFinished
            | protocol.Warning | protocol.SessionFinished | protocol.Done
        ) and state.collected:
            self._backlog.append((name, event))
            return
        match event:
            case protocol.RuntimeReady(environment=env, boot_seconds=boot, install_seconds=inst):
                state.environment.update(env)
                self._record_environment(state)
                jspi = "JSPI on" if env.get("jspi") == "true" else "JSPI off"
                self._say(f"{name}: {env.get('runtime_version', '?')}, Pyodide "
                          f"{env.get('pyodide_version', '?')}, {jspi} "
                          f"(boot {boot:.1f}s, install {inst:.1f}s)")
            case protocol.InstallFailed(messages=messages):
                self._runtime_failed(state, "installing the wheels failed:\n" + "\n".join(messages))
            case protocol.SessionStarted(pytest_version=pv, python_version=pyv):
                state.environment.update({"pytest_version": pv, "python_version": pyv})
            case protocol.Collected():
                first = not state.collected
                if first and state.primary:
                    self._check_origins(state, event)
                self._make_items(state, event)
                state.collected = True
                if first and self.recorder is not None:
                    self._record_environment(state)
                    self.recorder.collected(self.package_name, state.runtime,
                                            [i.nodeid for i in event.items])
            case protocol.CollectReport() if state.collected or not state.primary:
                pass  # a restarted session or another instance: reported once already
            case protocol.CollectReport(report=data):
                rep = self._rebuild(data, state)
                assert isinstance(rep, pytest.CollectReport)
                state.collect_errors.append(rep)
                self._record(state, str(data.get("nodeid") or f"<{state.name}>"), rep, "collect")
            case protocol.TestStarted(nodeid=nodeid):
                state.current, state.phases_seen = nodeid, set()
                item = state.items.get(nodeid)
                if item is not None:
                    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            case protocol.TestReport(report=data):
                rep = self._rebuild(data, state)
                self._apply_gate(state, data["nodeid"], rep)
                self._record(state, data["nodeid"], rep, rep.when or "call")
                state.phases_seen.add(rep.when or "")
                item = state.items.get(data["nodeid"])
                if item is not None:
                    item.ihook.pytest_runtest_logreport(report=rep)
                if rep.failed and rep.when == "call":
                    state.failures += 1
                elif rep.failed:
                    state.errors += 1
            case protocol.TestFinished(nodeid=nodeid):
                state.current = None
                state.ran += 1
                if self.gate.is_baseline(state.runtime, nodeid) and nodeid not in state.gate_failed:
                    self.gate.fixed.append((state.runtime, nodeid))  # a known failure that passed
                state.reported.add(nodeid)
                item = state.items.get(nodeid)
                if item is not None:
                    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
                self._maybe_progress()
            case protocol.Warning():
                self._warn(state, event)
            case protocol.SessionFinished(exitstatus=status):
                state.exitstatus = status
            case protocol.InternalError(text=text):
                self._runtime_failed(state, "the in-runtime pytest session failed:\n" + text)
            case protocol.Done(seconds=seconds):
                state.finished = True
                if self.recorder is not None and state.primary:
                    self.recorder.runtime_duration(self.package_name, state.runtime, seconds)
                if self._siblings(state):
                    self._say(f"{state.name} ran {state.ran} tests in {seconds:.1f}s "
                              f"(exit status {state.exitstatus})")
                else:
                    self._say(f"{state.progress()} done in {seconds:.1f}s "
                              f"(exit status {state.exitstatus})")
            case protocol.RuntimeError_(text=text):
                self._runtime_failed(state, text)
            case protocol.Crashed():
                self._crashed(state, event)

    def _apply_gate(self, state: RuntimeState, nodeid: str, rep: Any) -> None:
        """Known failures (baseline, ini pyodide_xfail) become expected failures."""
        reason = self.gate.expected_failure(state.runtime, nodeid)
        if reason is None:
            return
        if rep.failed:
            rep.outcome, rep.wasxfail = "skipped", reason
            if self.gate.is_baseline(state.runtime, nodeid) and nodeid not in state.gate_failed:
                self.gate.held.append((state.runtime, nodeid))
        elif rep.passed and rep.when == "call" and not self.gate.is_baseline(state.runtime, nodeid):
            rep.wasxfail = reason  # an ini xfail rule that passes: XPASS, as pytest says it
        if rep.failed or getattr(rep, "wasxfail", None):
            state.gate_failed.add(nodeid)

    def _record(self, state: RuntimeState, nodeid: str, rep: Any, when: str) -> None:
        if self.recorder is None:
            return
        longrepr = rep.longrepr
        if isinstance(longrepr, tuple):
            text = str(longrepr[2])
        elif longrepr is None:
            text = ""
        else:
            text = rep.longreprtext
        crash = getattr(longrepr, "reprcrash", None)
        self.recorder.add_phase(
            self.package_name, state.runtime, nodeid, when, rep.outcome,
            float(getattr(rep, "duration", 0.0) or 0.0), text, list(rep.sections),
            getattr(rep, "wasxfail", None), getattr(crash, "message", None),
        )

    def _record_environment(self, state: RuntimeState) -> None:
        if self.recorder is not None and state.primary:
            self.recorder.runtime(self.package_name, state.runtime, state.environment)

    def _maybe_progress(self, every: float = 5.0) -> None:
        """A line with every runtime's tests done / total and failures, at most every 5 s."""
        now = time.monotonic()
        if now - self._last_progress < every:
            return
        self._last_progress = now
        self._say("progress: " + " | ".join(
            s.progress(self._siblings(s)) for s in self.states.values() if s.primary))

    def _siblings(self, state: RuntimeState) -> list[RuntimeState]:
        """The other instances of the same runtime (--pyodide-workers)."""
        return [s for s in self.states.values() if s.runtime == state.runtime and s is not state]

    def _rebuild(self, data: dict[str, Any], state: RuntimeState) -> Any:
        """A runtime's serialized report as a host report of the host's item."""
        longrepr = data.get("longrepr")
        if isinstance(longrepr, list):  # a skip's (path, lineno, reason), made a list by JSON
            path, lineno, reason = longrepr
            if path.startswith(RUNTIME_PROJECT_DIR + "/"):  # show it where it is on the host
                path = str(self.config.rootpath / path[len(RUNTIME_PROJECT_DIR) + 1:])
            data = {**data, "longrepr": (path, lineno, reason)}
        rep = self.config.hook.pytest_report_from_serializable(config=self.config, data=data)
        item = state.items.get(rep.nodeid)
        if item is not None:  # the host's location, so headlines name the runtime too
            rep.location = item.location
            if not rep.keywords:  # not sent with each report: the item has them
                rep.keywords = dict.fromkeys(item.extra_keyword_matches, 1)
        rep.nodeid = host_nodeid(rep.nodeid, state.runtime) if rep.nodeid else f"<{state.name}>"
        rep.pyodide_runtime = state.runtime
        return rep

    def _warn(self, state: RuntimeState, event: protocol.Warning) -> None:
        message = warnings.WarningMessage(
            UserWarning(f"[{state.name}] {event.category}: {event.message}"),
            UserWarning, event.filename, event.lineno,
        )
        nodeid = host_nodeid(event.nodeid, state.runtime) if event.nodeid else ""
        self.config.hook.pytest_warning_recorded.call_historic(
            kwargs=dict(warning_message=message, when=event.when, nodeid=nodeid, location=None)
        )

    def _check_origins(self, state: RuntimeState, event: protocol.Collected) -> None:
        assert self.intake is not None
        by_name = {n: w for w in self.intake.wheels for n in w.top_level}
        for name, origin in event.import_origins.items():
            wheel = by_name.get(name)
            wheel_name = wheel.path.name if wheel else "?"
            state.environment[f"imported_from:{name}"] = str(origin.get("file"))
            state.environment.setdefault("imported_from", str(origin.get("file")))
            if origin.get("file") is None:
                text = PACKAGE_MISSING.format(runtime=state.name, name=name, wheel=wheel_name)
            elif not origin.get("in_wheel"):
                text = PACKAGE_SHADOWED.format(runtime=state.name, name=name,
                                               file=origin["file"], wheel=wheel_name)
            else:
                self._say(f"{state.name}: {name} imported from {origin['file']} (the wheel)")
                continue
            state.collect_errors.append(
                pytest.CollectReport(nodeid=f"<{state.name}>", outcome="failed",
                                     longrepr=text, result=[])
            )
        if self.intake.wheels:
            state.environment["wheel"] = ", ".join(w.path.name for w in self.intake.wheels)

    def _runtime_failed(self, state: RuntimeState, text: str) -> None:
        """A runtime that failed before collecting: one collection error, once."""
        if state.finished:
            return
        if state.collected:  # an error its finished session still reported
            self._say(f"{state.name}: runtime error: {text.strip()}")
            if self.recorder is not None:
                self.recorder.runtime_error(self.package_name, state.runtime, text)
            return
        if not state.collected:
            state.collect_errors.append(
                pytest.CollectReport(nodeid=f"<{state.name}>", outcome="failed",
                                     longrepr=f"{state.name}: {text}", result=[])
            )
        if self.recorder is not None:
            self.recorder.runtime_error(self.package_name, state.runtime, text)
        state.finished = True

    def _crashed(self, state: RuntimeState, event: protocol.Crashed) -> None:
        if not state.collected:
            self._runtime_failed(state, f"{event.reason}\n{event.output}".strip())
            return
        if self._collecting:  # reported once the items exist
            self._backlog.append((state.name, event))
            return
        nodeid = state.current
        if nodeid is not None and nodeid in state.items:
            item = state.items[nodeid]
            when = "setup" if "setup" not in state.phases_seen else (
                "call" if "call" not in state.phases_seen else "teardown")
            if event.reason.startswith("Timeout"):
                text = f"{event.reason}, while running {nodeid}"
            else:
                text = RUNTIME_DIED.format(runtime=state.name, reason=event.reason, nodeid=nodeid)
            self._synthetic(state, item, "failed", when, f"{text}\n{event.output}".rstrip())
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
            state.reported.add(nodeid)
            state.current = None
        if event.will_restart:
            self._say(RESTARTING.format(runtime=state.name, attempt=event.restarts + 1,
                                        cap=self.settings.max_restarts, reason=event.reason))
            return
        state.finished = True
        if any(not s.finished for s in self._siblings(state)):
            # Its tests went back to the scheduler: an instance still at work takes
            # them, and what nobody runs is reported when the last one ends.
            self._say(f"{state.name} stopped ({event.reason}); the other instances of "
                      f"{state.runtime} take its remaining tests")
            return
        left = len(state.assigned - state.reported)
        if left and event.restarts >= self.settings.max_restarts:
            self._say(RESTART_CAP.format(runtime=state.name, restarts=event.restarts,
                                         cap=self.settings.max_restarts, count=left))
        self._report_not_run(state, event.reason)

    def _synthetic(self, state: RuntimeState, item: PyodideItem, outcome: str, when: str,
                   text: str) -> None:
        rep = pytest.TestReport(
            nodeid=item.nodeid, location=item.location, keywords={}, outcome=outcome,  # type: ignore[arg-type]
            longrepr=text, when=when,  # type: ignore[arg-type]
        )
        rep.pyodide_runtime = item.runtime  # type: ignore[attr-defined]
        if outcome == "failed" and not text.startswith("not run:"):
            self._record(state, item.suite_nodeid, rep, when)
        item.ihook.pytest_runtest_logreport(report=rep)

    def _report_not_run(self, state: RuntimeState, why: str) -> None:
        if self._collecting or self.config.option.collectonly:
            return
        session_items = self._session_items()
        for nodeid in sorted(state.assigned - state.reported):
            item = state.items[nodeid]
            if item not in session_items:
                continue
            state.reported.add(nodeid)
            item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
            self._synthetic(state, item, "failed", "setup",
                            NOT_RUN.format(runtime=state.name, why=why))
            item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _session_items(self) -> set[pytest.Item]:
        session = self.config.stash.get(_SESSION_KEY, None)
        return set(session.items) if session is not None else set()

    # -- teardown ------------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.config.stash[_SESSION_KEY] = session
        # CI systems stop jobs with SIGTERM: end like Ctrl-C (exit 2, reports written,
        # every runtime closed) instead of dying with browsers and Node left behind.
        if hasattr(signal, "SIGTERM"):
            self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)

    def pytest_sessionfinish(self) -> None:
        if self.controller is not None:
            self.controller.close()
        if self.recorder is not None:
            written = self.recorder.finish()
            self._say(f"wrote {len(written)} report files to {self.recorder.report_dir}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        gate = self.gate
        if gate.source or gate.rules:
            terminalreporter.write_sep("=", "pyodide-harness gate")
            terminalreporter.write_line(
                f"{len(gate.held)} known failures still failing (not counted), "
                f"{len(gate.fixed)} fixed")
            for runtime, nodeid in gate.fixed:
                terminalreporter.write_line(f"FIXED {host_nodeid(nodeid, runtime)}")

    def pytest_unconfigure(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        if self.controller is not None:
            self.controller.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def pytest_report_header(self) -> str:
        return (f"pyodide-harness: runtimes {', '.join(self.settings.runtimes)}; "
                f"Pyodide {self.settings.pyodide_version}")


_SESSION_KEY = pytest.StashKey[pytest.Session]()


def _sigterm_to_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt("SIGTERM")
