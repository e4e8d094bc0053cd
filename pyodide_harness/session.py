"""The host side of a run: start the runtimes, dispatch their events to pytest.

Like pytest-xdist's ``DSession``, the host never imports the suite. Each runtime collects
and runs it in one in-runtime pytest session and streams typed events; ``dispatch``
handles each event type in one place (closed by ``assert_never``), turning them into one
host item per (test, runtime) and pytest's usual hook calls: ``pytest_collectreport``,
``pytest_runtest_logstart/logreport/logfinish`` (so the terminal, ``--junitxml``, ``-x``
and the exit status work) and the harness's own hooks (``newhooks.py``) for observers.

A test's phase reports are held until the test finishes and then passed on together, so output of
several runtimes never interleaves within a test. Events of a runtime that finished collecting wait
until every runtime has collected: pytest's items must all exist before the first test is reported.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from . import protocol
from .compat import assert_never
from .controller import Controller, Supervision
from .errors import HarnessError
from .gate import Gate
from .group import Groups, Instance
from .interrupts import HostInterrupts, describe, journal_note, stop_like_the_runtime
from .items import host_path, publish, rebuild, record_warning
from .preparation import Plan, Say, prepare
from .protocol import Event
from .runners import create
from .settings import Settings
from .synthesis import origins, runtime_failure
from .testflow import TestFlow
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
        self.flow = TestFlow(config, gate)
        self.plan: Plan | None = None
        self.controller: Controller | None = None
        self._events: Iterator[tuple[str, Event]] = iter(())
        self._held: list[tuple[str, Event]] = []  # events of collected runtimes, for later
        # Ctrl-C and SIGTERM end the run like pytest's (exit 2, reports written, every
        # runtime closed); a second one while it ends stops at once (interrupts.py).
        self.interrupts = HostInterrupts(self._stop_runtimes,
                                         journal_note(settings.report_dir),
                                         self._remove_workdir)
        config.pluginmanager.register(self.interrupts, "pyodide_harness_interrupts")

    # -- pytest's session --------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool:
        self.flow.session = session  # the one place the session is kept
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
            self.flow.not_run(group, group.primary.name, "the runtime ended without running it")
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self) -> Generator[None]:
        try:
            return (yield)
        finally:  # after the terminal summary: closing browsers takes seconds
            if self.controller is not None:
                self.controller.close()

    def pytest_unconfigure(self) -> None:
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
        publish(self.config, session, [(g.collect_errors, list(g.items.values()))
                                       for g in self.groups])

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
                self.config.hook.pytest_pyodide_module_missing(
                    config=self.config, runtime=instance.runtime, instance=instance.name,
                    module=event.module, importer=host_path(event.importer, self.config.rootpath))
            case protocol.TestStarted(nodeid=nodeid):
                self.flow.started(instance, nodeid)
                self.config.hook.pytest_pyodide_test_started(
                    config=self.config, runtime=instance.runtime, instance=instance.name,
                    nodeid=nodeid)
            case protocol.TestReport(report=data):
                self.flow.report(instance, data)
            case protocol.TestFinished(nodeid=nodeid):
                self.flow.finished(instance, nodeid)
            case protocol.Warning():
                record_warning(self.config, instance.name, instance.runtime, event.category,
                               event.message, event.filename, event.lineno, event.when,
                               event.nodeid)
            case protocol.SessionFinished(exitstatus=status):
                instance.exitstatus = status
            case protocol.CoverageMeasured():
                self.config.hook.pytest_pyodide_coverage(
                    config=self.config, runtime=instance.runtime, instance=instance.name, data=event)
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
        if instance.ready is None:  # timings are the first attempt's (a restart boots again)
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
        if first:
            instance.collected_at = time.monotonic()
        if first and instance.primary:
            group.collect_errors += origins(instance.name, group.runtime, event.import_origins,
                                            self.intake.wheels, group.environment)
        assert self.flow.session is not None
        group.take_collection(self.flow.session, event)
        if first:
            self.config.hook.pytest_pyodide_runtime_collected(
                config=self.config, runtime=group.runtime, instance=instance.name,
                nodeids=[i.nodeid for i in event.items], deselected=len(event.deselected),
                environment=dict(group.environment))

    def _collect_report(self, instance: Instance, data: dict[str, Any]) -> None:
        if instance.group.collected or not instance.primary:
            return  # a restarted session or another instance: reported once already
        rep = rebuild(self.config, data, None, instance.runtime, instance.name)
        assert isinstance(rep, pytest.CollectReport)
        instance.group.collect_errors.append(rep)

    def _done(self, instance: Instance, exitstatus: int | None) -> None:
        instance.done = time.monotonic()
        if exitstatus is not None:
            instance.exitstatus = exitstatus
        self.config.hook.pytest_pyodide_runtime_finished(
            config=self.config, runtime=instance.runtime, instance=instance.name,
            exitstatus=instance.exitstatus, timings=instance.timings(),
            seconds=instance.done - instance.started, ran=instance.ran)

    def _interrupted(self, instance: Instance, event: protocol.Interrupted) -> None:
        """The suite stopped its session (KeyboardInterrupt, pytest.exit): the run stops too."""
        self.flow.stopped(instance)
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
        group = instance.group
        nodeid = self.flow.crashed(instance, event.reason, event.output)
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
        self.flow.not_run(group, instance.name, event.reason)

