"""The host side of a run: start the runtimes, dispatch their events to pytest.

Like pytest-xdist's ``DSession``, the host never imports the suite. Each runtime
collects and runs it in one in-runtime pytest session and streams typed events;
``dispatch`` handles each event type in one place (closed by ``assert_never``),
turning them into one host item per (test, runtime) and pytest's usual hook
calls: ``pytest_collectreport``, ``pytest_runtest_logstart/logreport/logfinish``
(so the terminal, ``--junitxml``, ``-x`` and the exit status work as always) and
the harness's own hooks (``newhooks.py``) for observers.

A test's phase reports are held until the test finishes and then passed on
together, so output of several runtimes never interleaves within a test. Events
of a runtime that finished collecting wait until every runtime has collected:
pytest's items must all exist before the first test is reported.
"""

from __future__ import annotations

import itertools
import shutil
import time
import warnings
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from . import protocol
from .availability import missing_module_message, wheel_availability
from .compat import assert_never
from .controller import Controller, Supervision
from .errors import HarnessError
from .gate import Gate
from .group import Groups, Instance, RuntimeGroup
from .interrupts import HostInterrupts, describe, journal_note, stop_like_the_runtime
from .items import host_nodeid, host_path, make_item, rebuild
from .journal import JOURNAL_FILENAME
from .preparation import Plan, Say, prepare
from .protocol import Event
from .runners import create
from .settings import Settings
from .synthesis import crash_report, not_run_report, origin_problems, runtime_failure
from .wheels import WheelIntake

RESTART_CAP = ("{runtime}: stopped after {restarts} restart(s) (--pyodide-max-restarts={cap}); "
               "{count} test(s) not run")
INSTANCE_GONE = ("{instance} stopped ({reason}); the other instances of {runtime} take its "
                 "remaining tests")
PROTOCOL_MISMATCH = ("the in-runtime plugin speaks protocol {got}, the host {expected}: "
                     "reinstall pytest-pyodide-harness")


class HarnessSession:
    """Registered as a plugin by ``plugin.py`` when ``--pyodide-wheel`` is given."""

    def __init__(self, config: pytest.Config, settings: Settings, intake: WheelIntake,
                 gate: Gate, say: Say) -> None:
        self.config = config
        self.settings = settings
        self.intake = intake
        self.gate = gate
        self.say = say
        self.groups = Groups()
        self.plan: Plan | None = None
        self.controller: Controller | None = None
        self._session: pytest.Session | None = None
        self._events: Iterator[tuple[str, Event]] = iter(())
        self._held: list[tuple[str, Event]] = []  # events of collected runtimes, for later
        self._missing: dict[str, tuple[str, tuple[str, ...]]] = {}  # module -> importer, runtimes
        self.interrupts = HostInterrupts(self._stop_runtimes,
                                         journal_note(settings.report_dir, JOURNAL_FILENAME),
                                         self._remove_workdir)

    # -- pytest's session --------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = session
        # Ctrl-C and SIGTERM end the run like pytest's (exit 2, reports written, every
        # runtime closed); a second one while it ends stops at once (interrupts.py).
        self.interrupts.install()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        self._session = session
        try:
            self.plan = plan = prepare(self.config, self.settings, self.intake, self.say)
        except HarnessError as exc:
            pytest.exit(str(exc), returncode=exc.exit_code)
        hook = self.config.hook
        hook.pytest_pyodide_prepared.call_historic(kwargs={"config": self.config, "plan": plan})
        work = []
        for planned in plan.instances:
            self.groups.add(planned.runtime, planned.instance)
            work.append((create(planned.runtime, plan.runtime_config), planned.job))
        self.controller = Controller(work, Supervision(
            default_timeout=self.settings.timeout or None, max_restarts=self.settings.max_restarts))
        self.controller.start()
        for planned in plan.instances:
            hook.pytest_pyodide_runtime_started(config=self.config, runtime=planned.runtime,
                                                instance=planned.instance)
        self._events = self.controller.events(on_idle=self._idle)
        if not self.groups.all_collected:
            for name, event in self._events:
                if self.groups[name].collected:
                    self._held.append((name, event))
                else:
                    self.dispatch(name, event)
                if self.groups.all_collected:
                    break
        self._publish_items(session)
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        if session.testsfailed and not self.config.option.continue_on_collection_errors:
            raise session.Interrupted(
                f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} "
                "during collection")
        if self.config.option.collectonly:
            return True
        held, self._held = self._held, []
        for name, event in itertools.chain(held, self._events):
            self.dispatch(name, event)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        for group in self.groups:
            self._report_not_run(group, group.primary.name, "the runtime ended without running it")
        return True

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupts.ending()
        self._stop_runtimes()

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self) -> Generator[None]:
        self.interrupts.ending()  # before the reports are written: Ctrl-C now stops at once
        try:
            return (yield)
        finally:
            if self.controller is not None:
                self.controller.close()

    def pytest_unconfigure(self) -> None:
        self.interrupts.restore()
        if self.controller is not None:
            self.controller.close()
        self._remove_workdir()

    def _stop_runtimes(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def _remove_workdir(self) -> None:
        if self.plan is not None:
            shutil.rmtree(self.plan.workdir, ignore_errors=True)

    def _idle(self) -> None:
        self.config.hook.pytest_pyodide_idle(config=self.config)

    def _publish_items(self, session: pytest.Session) -> None:
        """Every runtime collected: its items become the session's, errors are reported."""
        hook = self.config.hook
        items: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for group in self.groups:
            for rep in group.collect_errors:
                hook.pytest_collectreport(report=rep)
            runtime_items = list(group.items.values())
            items += [i for i in runtime_items if not i.deselected]
            deselected += [i for i in runtime_items if i.deselected]
            result: list[pytest.Item | pytest.Collector] = [*runtime_items]
            hook.pytest_collectreport(report=pytest.CollectReport(
                nodeid="", outcome="passed", longrepr=None, result=result))
        if deselected:
            hook.pytest_deselected(items=deselected)
        for module, (importer, runtimes) in self._missing.items():
            self.say(missing_module_message(module, importer, wheel_availability(module))
                     + f" [{', '.join(dict.fromkeys(runtimes))}]")
        # -k, -m, --deselect and the suite's own pytest_collection_modifyitems ran inside
        # each runtime, once; the host's items are not selected or reordered again.
        session.items = items
        hook.pytest_collection_finish(session=session)
        session.testscollected = len(items)

    # -- events ------------------------------------------------------------------------
    def dispatch(self, name: str, event: Event) -> None:
        """Handle one event of instance ``name``; every event type has its case."""
        instance = self.groups[name]
        match event:
            case protocol.RuntimeReady():
                self._ready(instance, event)
            case protocol.InstallFailed(messages=messages):
                self._failed(instance, "installing the wheels failed:\n" + "\n".join(messages))
            case protocol.SessionStarted():
                self._session_started(instance, event)
            case protocol.Collected():
                self._collected(instance, event)
            case protocol.CollectReport(report=data):
                self._collect_report(instance, data)
            case protocol.ModuleMissing():
                self._missing[event.module] = (host_path(event.importer, self.config.rootpath),
                                               self._missing.get(event.module, ("", ()))[1]
                                               + (instance.runtime,))
            case protocol.TestStarted(nodeid=nodeid):
                instance.current, instance.pending = nodeid, []
                self.config.hook.pytest_pyodide_test_started(
                    config=self.config, runtime=instance.runtime, instance=instance.name,
                    nodeid=nodeid)
            case protocol.TestReport(report=data):
                self._test_report(instance, data)
            case protocol.TestFinished(nodeid=nodeid):
                self._test_finished(instance, nodeid)
            case protocol.Warning():
                self._warning(instance, event)
            case protocol.SessionFinished(exitstatus=status):
                instance.exitstatus = status
            case protocol.Interrupted():
                self._interrupted(instance, event)
            case protocol.InternalError(text=text):
                self._failed(instance, "the in-runtime pytest session failed:\n" + text)
            case protocol.Done():
                self._done(instance, event.exitstatus)
            case protocol.RuntimeError_(text=text):
                self._failed(instance, text)
            case protocol.Crashed():
                self._crashed(instance, event)
            case _:
                assert_never(event)

    def _ready(self, instance: Instance, event: protocol.RuntimeReady) -> None:
        instance.ready = time.monotonic()
        instance.boot, instance.install = event.boot_seconds, event.install_seconds
        instance.group.environment.update(event.environment)
        self.config.hook.pytest_pyodide_runtime_ready(
            config=self.config, runtime=instance.runtime, instance=instance.name,
            environment=dict(event.environment), boot=event.boot_seconds,
            install=event.install_seconds)

    def _session_started(self, instance: Instance, event: protocol.SessionStarted) -> None:
        if event.protocol_version != protocol.PROTOCOL_VERSION:
            self._failed(instance, PROTOCOL_MISMATCH.format(
                got=event.protocol_version, expected=protocol.PROTOCOL_VERSION))
        instance.group.environment.update(
            {"pytest_version": event.pytest_version, "python_version": event.python_version})

    def _collected(self, instance: Instance, event: protocol.Collected) -> None:
        group, first = instance.group, not instance.collected
        instance.collected = True
        if first and instance.primary:
            self._check_origins(instance, event)
        assert self._session is not None
        for ci in event.items:
            group.selected.setdefault(ci.nodeid)
            item = group.items.get(ci.nodeid)
            if item is None:
                group.items[ci.nodeid] = make_item(self._session, group.runtime, ci.nodeid,
                                                   ci.location, ci.keywords)
            else:  # a resumed session, or another instance's deselection
                item.deselected = False
        for nodeid in event.deselected:
            if nodeid not in group.items:
                item = make_item(self._session, group.runtime, nodeid,
                                 (nodeid.split("::")[0], None, nodeid.rsplit("::", 1)[-1]), ())
                item.deselected = True
                group.items[nodeid] = item
        if first:
            instance.collected_at = time.monotonic()
            self.config.hook.pytest_pyodide_runtime_collected(
                config=self.config, runtime=group.runtime, instance=instance.name,
                nodeids=[i.nodeid for i in event.items], deselected=len(event.deselected),
                environment=dict(group.environment))

    def _check_origins(self, instance: Instance, event: protocol.Collected) -> None:
        env = instance.group.environment
        for name, origin in event.import_origins.items():
            env[f"imported_from:{name}"] = str(origin.get("file"))
            env.setdefault("imported_from", str(origin.get("file")))
        env["wheel"] = ", ".join(w.path.name for w in self.intake.wheels)
        for text in origin_problems(instance.name, event.import_origins, self.intake.wheels):
            rep = runtime_failure(instance.name, instance.runtime, text)
            rep.longrepr = text  # the text names the runtime already
            instance.group.collect_errors.append(rep)

    def _collect_report(self, instance: Instance, data: dict[str, Any]) -> None:
        if instance.group.collected or not instance.primary:
            return  # a restarted session or another instance: reported once already
        rep = rebuild(self.config, data, None, instance.runtime, instance.name)
        assert isinstance(rep, pytest.CollectReport)
        instance.group.collect_errors.append(rep)

    def _test_report(self, instance: Instance, data: dict[str, Any]) -> None:
        nodeid = str(data["nodeid"])
        rep = rebuild(self.config, data, instance.group.items.get(nodeid), instance.runtime,
                      instance.name)
        assert isinstance(rep, pytest.TestReport)
        self.gate.judge(instance.runtime, nodeid, rep)
        instance.pending.append(rep)

    def _test_finished(self, instance: Instance, nodeid: str) -> None:
        reports, instance.pending, instance.current = instance.pending, [], None
        instance.ran += 1
        self.gate.finished(instance.runtime, nodeid)
        self._report_test(instance.group, nodeid, reports)

    def _report_test(self, group: RuntimeGroup, nodeid: str,
                     reports: list[pytest.TestReport]) -> None:
        """One test's start, phase reports and end, together (never interleaved)."""
        group.reported.add(nodeid)
        item = group.items.get(nodeid)
        if item is None:
            return
        hook = item.ihook
        hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for rep in reports:
            hook.pytest_runtest_logreport(report=rep)
        hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _warning(self, instance: Instance, event: protocol.Warning) -> None:
        message = warnings.WarningMessage(
            UserWarning(f"[{instance.name}] {event.category}: {event.message}"),
            UserWarning, host_path(event.filename, self.config.rootpath), event.lineno)
        nodeid = host_nodeid(event.nodeid, instance.runtime) if event.nodeid else ""
        self.config.hook.pytest_warning_recorded.call_historic(kwargs={
            "warning_message": message, "when": event.when, "nodeid": nodeid, "location": None})

    def _done(self, instance: Instance, exitstatus: int | None) -> None:
        instance.finished, instance.done = True, time.monotonic()
        if exitstatus is not None:
            instance.exitstatus = exitstatus
        self.config.hook.pytest_pyodide_runtime_finished(
            config=self.config, runtime=instance.runtime, instance=instance.name,
            exitstatus=instance.exitstatus, timings=instance.timings(),
            seconds=instance.done - instance.started, ran=instance.ran)

    def _interrupted(self, instance: Instance, event: protocol.Interrupted) -> None:
        """The suite stopped its session (KeyboardInterrupt, pytest.exit): the run stops too.

        A test stopped in its teardown had its call logged already, as pytest shows it."""
        if instance.current is not None and any(r.when == "call" for r in instance.pending):
            reports, instance.pending = instance.pending, []
            self._report_test(instance.group, instance.current, reports)
        self.say(describe(event, instance.name, self.config.rootpath))
        stop_like_the_runtime(event, self.config.rootpath)

    def _failed(self, instance: Instance, text: str) -> None:
        """A runtime problem outside any test; before collection, the runtime is done."""
        if instance.finished:
            return
        if instance.collected:  # its tests report the damage; the text is kept beside them
            self.config.hook.pytest_pyodide_runtime_error(
                config=self.config, runtime=instance.runtime, instance=instance.name, text=text)
            return
        instance.group.collect_errors.append(runtime_failure(instance.name, instance.runtime, text))
        self._done(instance, None)

    def _crashed(self, instance: Instance, event: protocol.Crashed) -> None:
        if not instance.collected:
            self._failed(instance, f"{event.reason}\n{event.output}".strip())
            return
        group, nodeid = instance.group, instance.current
        item = group.items.get(nodeid) if nodeid is not None else None
        if nodeid is not None and item is not None:
            rep = crash_report(item, instance.pending, event.reason, event.output)
            self.gate.judge(instance.runtime, nodeid, rep)  # a known crash is known, too
            reports, instance.pending, instance.current = [*instance.pending, rep], [], None
            self._report_test(group, nodeid, reports)
        hook = self.config.hook
        hook.pytest_pyodide_runtime_crashed(
            config=self.config, runtime=instance.runtime, instance=instance.name,
            reason=event.reason, nodeid=nodeid, will_restart=event.will_restart,
            attempt=event.restarts + 1 if event.will_restart else 0)
        if event.will_restart:
            hook.pytest_pyodide_runtime_restarted(config=self.config, runtime=instance.runtime,
                                                  instance=instance.name,
                                                  attempt=event.restarts + 1)
            return
        self._done(instance, None)
        if not group.finished:
            # Its tests went back to the scheduler: an instance still at work takes
            # them, and what nobody runs is reported when the last one ends.
            self.say(INSTANCE_GONE.format(instance=instance.name, reason=event.reason,
                                          runtime=instance.runtime))
            return
        if group.left and event.restarts >= self.settings.max_restarts:
            self.say(RESTART_CAP.format(runtime=instance.name, restarts=event.restarts,
                                        cap=self.settings.max_restarts, count=len(group.left)))
        self._report_not_run(group, instance.name, event.reason)

    def _report_not_run(self, group: RuntimeGroup, instance: str, why: str) -> None:
        if self.config.option.collectonly or self._session is None:
            return
        in_session = set(self._session.items)
        for nodeid in group.left:
            item = group.items[nodeid]
            if item in in_session:
                self._report_test(group, nodeid, [not_run_report(item, instance, why)])
