"""The controller with scripted fake runtimes: tagging, restarts, the watchdog, closing.

``FakeRuntime`` implements the ``Runtime`` Protocol from a script per attempt:
events to emit, sleeps, ``Hang`` (wait for an interrupt, for close, or forever)
and exceptions to raise. Like a real runner, a fake that is closed while running
emits ``Crashed`` and returns. No Node, no browser; every test runs in well under
a second with the small ``Supervision`` values below.

``TestStarted``, ``TestReport`` and ``TestFinished`` are used as ``protocol.X``:
imported bare, pytest would try to collect them as test classes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pytest

from pyodide_harness import protocol
from pyodide_harness.controller import Controller, Supervision
from pyodide_harness.inner.pyodide_harness_inner import InnerOptions
from pyodide_harness.protocol import (
    Collected,
    CollectedItem,
    Crashed,
    Done,
    Event,
    RuntimeError_,
    RuntimeReady,
    SessionStarted,
)
from pyodide_harness.runners.base import Emit, Runtime, RuntimeJob

FAST = Supervision(poll=0.01, grace=0.2, max_restarts=5)
WAIT = 5.0  # seconds events() may stay silent before a test fails instead of hanging


@dataclass(frozen=True)
class Hang:
    """Block the script until the runtime is interrupted, closed, or (forever) cancelled."""

    until: Literal["interrupt", "close", "forever"]


Step = Event | float | Hang | Exception


class FakeRuntime:
    """A scripted runtime; records every job, interrupt and close it gets."""

    def __init__(self, name: str, *attempts: Sequence[Step], interruptible: bool = True) -> None:
        self.name = name
        self.attempts = attempts
        self.interruptible = interruptible
        self.jobs: list[RuntimeJob] = []
        self.interrupts: list[float] = []  # monotonic times
        self.sent: list[str] = []  # command lines the controller sent
        self.closes: list[tuple[float, bool]] = []  # (monotonic time, was run() still running)
        self.cancelled = False
        self.running = False
        self._interrupted: asyncio.Event | None = None
        self._closed: asyncio.Event | None = None

    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        self.jobs.append(job)
        script = self.attempts[min(len(self.jobs), len(self.attempts)) - 1]
        self._interrupted, self._closed = asyncio.Event(), asyncio.Event()
        self.running = True
        try:
            for step in script:
                if isinstance(step, Exception):
                    raise step
                if isinstance(step, float | int):
                    await asyncio.sleep(step)
                elif isinstance(step, Hang):
                    await self._hang(step)
                    if self._closed.is_set():  # like a real runner: a killed runtime is a crash
                        emit(Crashed(reason=f"{self.name} exited unexpectedly (code=null)", output="killed"))
                        return
                else:
                    emit(step)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running = False

    async def _hang(self, step: Hang) -> None:
        assert self._interrupted is not None and self._closed is not None
        waiters = [asyncio.ensure_future(self._closed.wait())]
        if step.until == "interrupt":
            waiters.append(asyncio.ensure_future(self._interrupted.wait()))
        elif step.until == "forever":
            waiters = [asyncio.ensure_future(asyncio.Event().wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def interrupt(self) -> bool:
        self.interrupts.append(time.monotonic())
        if self.interruptible and self._interrupted is not None:
            self._interrupted.set()
        return self.interruptible

    async def send(self, command: str) -> bool:
        self.sent.append(command)
        return self.running

    async def close(self) -> None:
        self.closes.append((time.monotonic(), self.running))
        if self._closed is not None:
            self._closed.set()

    @property
    def closed_while_running(self) -> list[float]:
        return [t for t, running in self.closes if running]


def _typed(runtime: FakeRuntime) -> Runtime:
    return runtime  # mypy checks here that the fake implements the Protocol


def job(name: str) -> RuntimeJob:
    unused = Path("unused")
    return RuntimeJob(distribution=unused, wheels=(), archive=unused, inner=unused,
                      options=InnerOptions(runtime=name, rootdir="/", paths=("tests",)),
                      workdir=unused)


def drive(*runtimes: FakeRuntime, supervision: Supervision = FAST,
          wait: float = WAIT) -> list[tuple[str, Event]]:
    """Run the runtimes under a controller and return every ``(name, event)`` in arrival order."""
    controller = Controller([(_typed(r), job(r.name)) for r in runtimes], supervision)
    controller.start()
    try:
        return list(controller.events(timeout=wait))
    finally:
        controller.close()


def of(events: Iterable[tuple[str, Event]], name: str) -> list[Event]:
    return [e for n, e in events if n == name]


def crashes(events: Iterable[tuple[str, Event]]) -> list[Crashed]:
    return [e for _, e in events if isinstance(e, Crashed)]


# -- scripts ---------------------------------------------------------------------------------
BOOT: list[Step] = [RuntimeReady({"runtime_version": "fake"}, 0.0, 0.0),
                    SessionStarted("9.0.3", "3.14.2", "emscripten")]
DONE = Done(0, 0.1)


def collected(*nodeids: str) -> Collected:
    return Collected([CollectedItem(n, ("tests/test_a.py", i, n.split("::")[-1]), [])
                      for i, n in enumerate(nodeids)], [], {})


def report(nodeid: str, when: str, outcome: str = "passed",
           longrepr: str | None = None) -> protocol.TestReport:
    return protocol.TestReport({"nodeid": nodeid, "when": when, "outcome": outcome,
                                "longrepr": longrepr, "$report_type": "TestReport"})


def passing(nodeid: str, timeout: float | None = None) -> list[Step]:
    return [protocol.TestStarted(nodeid, timeout), report(nodeid, "setup"), report(nodeid, "call"),
            report(nodeid, "teardown"), protocol.TestFinished(nodeid)]


def events_of(script: Sequence[Step]) -> list[Event]:
    return [s for s in script if not isinstance(s, float | int | Hang | Exception)]


A, B, C = (f"tests/test_a.py::test_{x}" for x in "abc")


# -- plain runs ------------------------------------------------------------------------------------
def test_two_runtimes_tagged_by_name_and_both_finish() -> None:
    node_script = [*BOOT, collected(A, B), 0.1, *passing(A), 0.1, *passing(B), DONE]
    chromium_script = [*BOOT, 0.05, collected(A, B), *passing(A), 0.1, *passing(B), 0.05, DONE]
    node = FakeRuntime("node", node_script)
    chromium = FakeRuntime("chromium", chromium_script)

    events = drive(node, chromium)

    assert {n for n, _ in events} == {"node", "chromium"}
    assert of(events, "node") == events_of(node_script)
    assert of(events, "chromium") == events_of(chromium_script)
    names = [n for n, _ in events]
    last_node = len(names) - 1 - names[::-1].index("node")
    assert names.index("chromium") < last_node, "the runtimes run at the same time"
    assert not crashes(events)
    assert [j.options for j in node.jobs] == [InnerOptions(runtime="node", rootdir="/", paths=("tests",))]
    assert node.interrupts == chromium.interrupts == []
    assert [running for _, running in node.closes] == [False], "released once, after run() returned"


def test_no_runtimes() -> None:
    assert drive() == []


# -- restarts --------------------------------------------------------------------------------------
def test_crash_after_collection_restarts_and_skips_finished_and_crashed_tests() -> None:
    first = [*BOOT, collected(A, B, C), *passing(A), protocol.TestStarted(B), report(B, "setup"),
             Crashed("node exited unexpectedly (code=139)", output="Segmentation fault",
                     details={"exit_code": 139})]
    second = [*BOOT, collected(C), *passing(C), DONE]
    node = FakeRuntime("node", first, second)

    events = of(drive(node), "node")

    crash = Crashed("node exited unexpectedly (code=139)", output="Segmentation fault",
                    details={"exit_code": 139}, will_restart=True, restarts=0)
    assert events == [*events_of(first[:-1]), crash, *events_of(second)]
    assert len(node.jobs) == 2
    assert node.jobs[0].options.skip == ()
    assert node.jobs[1].options == replace(node.jobs[0].options, skip=(A, B))


def test_crash_between_tests_skips_only_the_finished_ones() -> None:
    first = [*BOOT, collected(A, B), *passing(A)]  # returns: no Done, no Crashed
    node = FakeRuntime("node", first, [collected(B), *passing(B), DONE])

    events = drive(node)

    [crash] = crashes(events)
    assert crash.reason == "node stopped without finishing its session"
    assert crash.will_restart
    assert node.jobs[1].options.skip == (A,)


def test_crash_before_collection_is_not_restarted() -> None:
    script = [*BOOT, Crashed("node exited unexpectedly (code=7)", output="boot log")]
    node = FakeRuntime("node", script, [*BOOT, collected(A), *passing(A), DONE])

    events = of(drive(node), "node")

    assert events == [*BOOT, Crashed("node exited unexpectedly (code=7)", output="boot log",
                                     will_restart=False, restarts=0)]
    assert len(node.jobs) == 1


@pytest.mark.parametrize("cap", [0, 2])
def test_restart_cap(cap: int) -> None:
    def attempt(k: int) -> list[Step]:
        return [collected(f"t{k}a", f"t{k}b"), *passing(f"t{k}a"), protocol.TestStarted(f"t{k}b")]

    node = FakeRuntime("node", *(attempt(k) for k in range(cap + 2)))

    events = drive(node, supervision=Supervision(poll=0.01, grace=0.2, max_restarts=cap))

    assert [(c.will_restart, c.restarts) for c in crashes(events)] == [
        *((True, k) for k in range(cap)), (False, cap)]
    assert len(node.jobs) == cap + 1
    assert not any(isinstance(e, Done) for _, e in events)
    if cap:
        assert node.jobs[-1].options.skip == tuple(t for k in range(cap) for t in (f"t{k}a", f"t{k}b"))


def test_one_runtime_crashing_does_not_stop_the_other() -> None:
    node = FakeRuntime("node", [*BOOT, Crashed("node exited unexpectedly (code=1)")])
    firefox = FakeRuntime("firefox", [*BOOT, collected(A), 0.1, *passing(A), DONE])

    events = drive(node, firefox)

    assert [c.reason for c in crashes(events)] == ["node exited unexpectedly (code=1)"]
    assert of(events, "firefox")[-1] == DONE


# -- the watchdog ------------------------------------------------------------------------------------
def test_watchdog_interrupt_that_lands_keeps_the_runtime() -> None:
    timeout_report = report(A, "call", "failed", "PyodideTimeout: Timeout (>0.05s) in node")
    script = [*BOOT, collected(A, B), protocol.TestStarted(A, 0.05), report(A, "setup"), Hang("interrupt"),
              timeout_report, report(A, "teardown"), protocol.TestFinished(A),
              # no timeout: B may take longer than grace without being interrupted
              protocol.TestStarted(B, None), 0.4, report(B, "setup"), report(B, "call"),
              report(B, "teardown"), protocol.TestFinished(B), DONE]
    node = FakeRuntime("node", script)

    events = of(drive(node), "node")

    assert len(node.interrupts) == 1
    assert node.closed_while_running == [], "the interrupt landed, so the runtime is not closed"
    assert events == events_of(script)
    assert len(node.jobs) == 1


def test_watchdog_closes_after_grace_and_restarts() -> None:
    first = [*BOOT, collected(A, B), protocol.TestStarted(A, 0.05), report(A, "setup"), Hang("close")]
    second = [*BOOT, collected(B), *passing(B), DONE]
    node = FakeRuntime("node", first, second)

    events = of(drive(node), "node")

    # one interrupt, one more half-way through the grace, then close
    assert len(node.interrupts) == 2
    assert node.interrupts[1] - node.interrupts[0] >= FAST.grace / 2 - 0.02
    assert len(node.closed_while_running) == 1
    assert node.closed_while_running[0] - node.interrupts[0] >= FAST.grace - 0.02, "grace was given"
    [crash] = [e for e in events if isinstance(e, Crashed)]
    assert crash.reason.startswith("Timeout (>0.05s) in node")
    assert "node was stopped" in crash.reason
    assert "within 0.2s" in crash.reason
    assert crash.output == "killed"
    assert (crash.will_restart, crash.restarts) == (True, 0)
    assert node.jobs[1].options.skip == (A,)
    assert events[-1] == DONE


def test_watchdog_uses_the_default_timeout() -> None:
    script = [*BOOT, collected(A), protocol.TestStarted(A, None), Hang("interrupt"),
              report(A, "call", "failed"), protocol.TestFinished(A), DONE]
    node = FakeRuntime("node", script)

    drive(node, supervision=Supervision(default_timeout=0.05, poll=0.01, grace=0.2))

    assert len(node.interrupts) == 1


def test_watchdog_budget_restarts_with_every_event() -> None:
    """The timeout is per phase: a test whose phases each report in time is never interrupted."""
    script = [*BOOT, collected(A), protocol.TestStarted(A, 0.3), 0.12, report(A, "setup"), 0.12,
              report(A, "call"), 0.12, report(A, "teardown"), protocol.TestFinished(A), DONE]
    node = FakeRuntime("node", script)

    drive(node)

    assert node.interrupts == []


def test_watchdog_closes_at_once_when_interrupt_is_unsupported() -> None:
    script = [*BOOT, collected(A), protocol.TestStarted(A, 0.3), Hang("close")]
    node = FakeRuntime("node", script, interruptible=False)

    events = drive(node, supervision=Supervision(poll=0.01, grace=0.25, max_restarts=0))

    assert len(node.interrupts) == 1
    assert len(node.closed_while_running) == 1
    assert node.closed_while_running[0] - node.interrupts[0] < 0.15, "no grace without an interrupt"
    [crash] = crashes(events)
    assert crash.reason.startswith("Timeout (>0.3s) in node")
    assert not crash.will_restart


def test_watchdog_closes_an_uninterruptible_runtime_when_grace_exceeds_the_timeout() -> None:
    script = [*BOOT, collected(A), protocol.TestStarted(A, 0.05), Hang("close")]
    node = FakeRuntime("node", script, interruptible=False)

    events = drive(node, supervision=Supervision(poll=0.01, grace=5.0, max_restarts=0), wait=0.5)

    assert len(node.interrupts) == 1
    assert crashes(events)[0].reason.startswith("Timeout (>0.05s) in node")


# -- failures of the runtime itself ------------------------------------------------------------------
def test_run_raising_is_a_crash_with_the_exception() -> None:
    node = FakeRuntime("node", [RuntimeError("node binary not found: /opt/node/bin/node")])

    events = drive(node)

    assert [type(e) for _, e in events] == [Crashed]
    [crash] = crashes(events)
    assert crash.reason == "failed: node binary not found: /opt/node/bin/node"
    assert "Traceback" in crash.output
    assert "RuntimeError: node binary not found" in crash.output
    assert not crash.will_restart
    assert [running for _, running in node.closes] == [False], "released after the failure"


def test_run_raising_after_collection_restarts() -> None:
    first = [*BOOT, collected(A, B), *passing(A), protocol.TestStarted(B), OSError("pipe closed")]
    node = FakeRuntime("node", first, [collected(), DONE])

    events = drive(node)

    [crash] = crashes(events)
    assert crash.reason == "failed: pipe closed"
    assert crash.will_restart
    assert node.jobs[1].options.skip == (A, B)


def test_runtime_error_after_collection_is_folded_into_the_crash() -> None:
    fatal = ("Pyodide fatal error (exit status 1): RuntimeError: unreachable\n"
             "    at wasm://wasm/pyodide.asm.wasm-0123:wasm-function[42]")
    first = [*BOOT, collected(A, B), protocol.TestStarted(A, 5.0), report(A, "setup"), RuntimeError_(fatal),
             Crashed("node exited unexpectedly (code=1)", output="stderr tail")]
    second = [*BOOT, collected(B), *passing(B), DONE]
    node = FakeRuntime("node", first, second)

    events = of(drive(node), "node")

    assert not any(isinstance(e, RuntimeError_) for e in events), "held back, not passed on"
    [crash] = [e for e in events if isinstance(e, Crashed)]
    assert crash.reason == (
        "node failed fatally (Pyodide fatal error (exit status 1): RuntimeError: unreachable)")
    assert "wasm-function[42]" in crash.output
    assert "stderr tail" in crash.output
    assert crash.will_restart
    assert node.jobs[1].options.skip == (A,)
    assert events[-1] == DONE


def test_runtime_error_before_collection_is_passed_on_and_not_restarted() -> None:
    error = "Error: Cannot find module 'pyodide.mjs'\n    at node_driver.mjs:12"
    node = FakeRuntime("node", [RuntimeError_(error)])

    events = of(drive(node), "node")

    assert events[0] == RuntimeError_(error)
    [crash] = [e for e in events if isinstance(e, Crashed)]
    assert crash.reason == "node failed fatally (Error: Cannot find module 'pyodide.mjs')"
    assert not crash.will_restart


def test_runtime_error_after_collection_is_not_lost_when_the_session_completes() -> None:
    script = [*BOOT, collected(A), *passing(A), RuntimeError_("Pyodide fatal error: abort()"), DONE]
    node = FakeRuntime("node", script)

    events = of(drive(node), "node")

    assert any(isinstance(e, RuntimeError_ | Crashed) for e in events)


# -- closing ---------------------------------------------------------------------------------------
def test_close_cancels_a_hanging_runtime_and_releases_it() -> None:
    node = FakeRuntime("node", [*BOOT, collected(A), protocol.TestStarted(A), Hang("forever")])
    controller = Controller([(_typed(node), job("node"))], FAST)
    controller.start()
    stream = controller.events(timeout=WAIT)
    received = [next(stream) for _ in range(4)]
    assert received[-1] == ("node", protocol.TestStarted(A))

    started = time.monotonic()
    controller.close()

    assert time.monotonic() - started < 2
    assert node.cancelled
    assert node.closes, "close() was called on the runtime"
    assert not controller._thread.is_alive()
    controller.close()  # a second close is harmless


def test_close_before_start_is_harmless() -> None:
    Controller([(_typed(FakeRuntime("node", [DONE])), job("node"))], FAST).close()



def test_close_closes_the_event_loop() -> None:
    controller = Controller([(_typed(FakeRuntime("node", [DONE])), job("node"))], FAST)
    controller.start()
    assert list(controller.events(timeout=WAIT)) == [("node", DONE)]
    controller.close()

    assert controller._loop.is_closed()
