"""Load scheduling (--pyodide-workers): the scheduler alone, then under the controller.

The scheduler is driven the way the controller drives it: instances collect,
finish tests and die, and every command it answers with is checked against what
an in-runtime session may rely on (see ``scheduling.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest

from pyodide_harness import protocol
from pyodide_harness.controller import Controller, Supervision
from pyodide_harness.inner.pyodide_harness_inner import InnerOptions
from pyodide_harness.runners.base import Emit, RuntimeJob
from pyodide_harness.scheduling import Command, LoadScheduler

TESTS = [f"tests/test_m{i // 10}.py::test_{i}" for i in range(100)]


class Instances:
    """What each instance was sent, applied as a session would apply it."""

    def __init__(self, scheduler: LoadScheduler) -> None:
        self.scheduler = scheduler
        self.queues: dict[str, list[str]] = {}
        self.shutdown: set[str] = set()
        self.ran: dict[str, list[str]] = {}
        self.sent: list[list[str]] = []  # every "run" command's tests

    def apply(self, commands: list[tuple[str, Command]]) -> None:
        for node, command in commands:
            assert node not in self.shutdown, f"{node} got {command} after its shutdown"
            if command.get("run"):
                self.sent.append(command["run"])
            self.queues.setdefault(node, []).extend(command.get("run", ()))
            if command.get("shutdown"):
                self.shutdown.add(node)

    def join(self, node: str, tests: list[str] = TESTS) -> None:
        self.ran.setdefault(node, [])
        self.apply(self.scheduler.collected(node, tests))

    def kill(self, node: str) -> tuple[str, list[str]]:
        """The instance dies in the test at the head of its queue: (that test, the rest)."""
        died_in, *rest = self.queues.pop(node)
        del self.ran[node]
        self.apply(self.scheduler.died(node, died_in))
        return died_in, rest

    def runnable(self, node: str) -> bool:
        """A session runs a test only once it knows the next one, or was told to stop."""
        queue = self.queues.get(node, [])
        return len(queue) >= 2 or (len(queue) == 1 and node in self.shutdown)

    def step(self, node: str) -> None:
        test = self.queues[node].pop(0)
        self.ran[node].append(test)
        self.apply(self.scheduler.finished_test(node, test))

    def stuck(self) -> list[str]:
        """Instances waiting for a command that will never come."""
        return [n for n in self.ran if n not in self.shutdown and not self.runnable(n)]


def test_every_test_runs_once_in_runs_of_neighbours() -> None:
    instances = Instances(LoadScheduler(3))
    for node in ("a", "b", "c"):
        instances.join(node)
    rng = random.Random(7)
    while any(instances.runnable(n) for n in instances.ran):
        instances.step(rng.choice([n for n in instances.ran if instances.runnable(n)]))
        if instances.scheduler.pending:  # nobody waits for the host while tests are left
            assert all(len(q) >= 2 for q in instances.queues.values()), instances.queues
    assert not instances.stuck()
    assert instances.shutdown == {"a", "b", "c"}
    assert sorted(t for ran in instances.ran.values() for t in ran) == sorted(TESTS)
    for tests in instances.sent:  # neighbours in the suite go out together
        start = TESTS.index(tests[0])
        assert tests == TESTS[start:start + len(tests)]
    # the first tests go out as a quarter of a fair share (100 // 3 // 4), the
    # rest in fewer, larger runs than one test at a time
    assert instances.sent[0] == TESTS[:8]
    assert len(instances.sent) < 30


def test_a_slow_instance_gets_fewer_tests() -> None:
    instances = Instances(LoadScheduler(2))
    instances.join("slow")
    instances.join("fast")
    while any(instances.runnable(n) for n in instances.ran):
        for _ in range(5):  # "fast" finishes five tests for each one of "slow"
            if instances.runnable("fast"):
                instances.step("fast")
        if instances.runnable("slow"):
            instances.step("slow")
    assert not instances.stuck()
    assert len(instances.ran["fast"]) > 3 * len(instances.ran["slow"])
    assert sorted(instances.ran["fast"] + instances.ran["slow"]) == sorted(TESTS)


def test_a_late_instance_takes_what_is_left() -> None:
    instances = Instances(LoadScheduler(2))
    instances.join("early")
    for _ in range(60):
        instances.step("early")
    instances.join("late")
    while any(instances.runnable(n) for n in instances.ran):
        for node in ("early", "late"):
            if instances.runnable(node):
                instances.step(node)
    assert instances.ran["late"], "the late instance got nothing"
    assert sorted(instances.ran["early"] + instances.ran["late"]) == sorted(TESTS)


def test_a_dead_instance_gives_back_its_tests_but_not_the_one_it_died_in() -> None:
    scheduler = LoadScheduler(2)
    instances = Instances(scheduler)
    instances.join("a")
    instances.join("b")
    instances.step("a")
    ran_by_a = list(instances.ran["a"])
    died_in, given_back = instances.kill("a")
    assert given_back
    # at the front of what is left, or already with "b"
    assert (scheduler.pending[:len(given_back)] == given_back
            or set(given_back) <= set(instances.queues["b"]))
    while instances.runnable("b"):
        instances.step("b")
    assert not instances.stuck()
    ran = ran_by_a + instances.ran["b"]
    assert sorted([*ran, died_in]) == sorted(TESTS)
    assert died_in not in ran
    assert scheduler.unfinished == []


def test_a_restarted_instance_joins_again_and_takes_its_tests_back() -> None:
    scheduler = LoadScheduler(1)
    instances = Instances(scheduler)
    instances.join("a")
    died_in, given_back = instances.kill("a")  # nobody else to take them
    assert scheduler.unfinished == [t for t in TESTS if t != died_in]
    instances.join("a")  # the restart collected again
    assert instances.queues["a"][:len(given_back)] == given_back
    while instances.runnable("a"):
        instances.step("a")
    assert scheduler.unfinished == []
    assert sorted([*instances.ran["a"], died_in]) == sorted(TESTS)


def test_tiny_suites_never_leave_an_instance_waiting() -> None:
    for count in range(0, 7):
        for workers in (1, 2, 3, 4):
            scheduler = LoadScheduler(workers)
            instances = Instances(scheduler)
            tests = TESTS[:count]
            for index in range(workers):
                instances.join(f"n{index}", tests)
            while any(instances.runnable(n) for n in instances.ran):
                instances.step(next(n for n in instances.ran if instances.runnable(n)))
            assert not instances.stuck(), (count, workers)
            assert sorted(t for ran in instances.ran.values() for t in ran) == sorted(tests)


def test_an_instance_that_collected_other_tests_is_refused_with_the_fix() -> None:
    scheduler = LoadScheduler(2)
    scheduler.collected("node", TESTS)
    with pytest.raises(ValueError, match=r"node#2 collected 99 tests, but node collected 100 "
                                         r"\(not collected there: tests/test_m0.py::test_0\).*"
                                         r"--pyodide-workers 1"):
        scheduler.collected("node#2", TESTS[1:])


# -- under the controller, with scripted runtimes -------------------------------------------

class Worker:
    """A runtime that runs what it is sent, like the in-runtime session in load mode."""

    def __init__(self, name: str, tests: list[str], dies_at: str | None = None,
                 delay: float = 0.0) -> None:
        self.name = name
        self.tests = tests
        self.dies_at = dies_at
        self.delay = delay
        self.ran: list[str] = []
        self.runs = 0
        self._inbox: asyncio.Queue[str] | None = None

    async def run(self, job: RuntimeJob, emit: Emit) -> None:
        self.runs += 1
        self._inbox = inbox = asyncio.Queue[str]()
        assert job.options.skip == ()  # shared tests: the scheduler resumes, not the session
        await asyncio.sleep(self.delay)
        emit(protocol.Collected([protocol.CollectedItem(t, ("x", 0, t), []) for t in self.tests], [], {}))
        todo: list[str] = []
        shutdown = False
        while todo or not shutdown:
            if len(todo) < 2 and not shutdown:
                command = json.loads(await inbox.get())
                todo += command.get("run", [])
                shutdown = shutdown or bool(command.get("shutdown"))
                continue
            test = todo.pop(0)
            emit(protocol.TestStarted(test))
            if test == self.dies_at:
                emit(protocol.Crashed(reason=f"{self.name} died in {test}"))
                return
            await asyncio.sleep(0.001)
            self.ran.append(test)
            emit(protocol.TestFinished(test))
        emit(protocol.Done(0, 0.0))

    async def send(self, command: str) -> bool:
        assert self._inbox is not None
        self._inbox.put_nowait(command)
        return True

    async def interrupt(self) -> bool:
        return False

    async def close(self) -> None:
        pass


def _load_job(instance: str) -> RuntimeJob:
    unused = Path("unused")
    return RuntimeJob(distribution=unused, wheels=(), archive=unused, inner=unused,
                      options=InnerOptions(runtime="node", rootdir="/", schedule="load"),
                      workdir=unused,
                      instance=instance)


def _drive(workers: list[Worker], max_restarts: int) -> list[tuple[str, protocol.Event]]:
    controller = Controller([(w, _load_job(w.name)) for w in workers],
                            Supervision(max_restarts=max_restarts, poll=0.01))
    controller.start()
    try:
        return list(controller.events(timeout=30))
    finally:
        controller.close()


def test_controller_gives_a_dead_instances_tests_to_the_living_one() -> None:
    tests = TESTS[:40]
    dying = Worker("node", tests, dies_at=tests[3])
    living = Worker("node#2", tests, delay=0.05)
    events = _drive([dying, living], max_restarts=0)
    crashed = [e for n, e in events if isinstance(e, protocol.Crashed)]
    assert [(c.reason, c.will_restart) for c in crashed] == [("node died in " + tests[3], False)]
    ran = dying.ran + living.ran
    assert sorted(ran) == sorted(t for t in tests if t != tests[3])  # each once, none lost
    assert len(living.ran) > len(dying.ran)


def test_controller_sends_a_restarted_instance_what_its_last_attempt_left() -> None:
    tests = TESTS[:30]
    worker = Worker("node", tests, dies_at=tests[5])
    events = _drive([worker], max_restarts=1)
    assert worker.runs == 2
    assert sorted(worker.ran) == sorted(t for t in tests if t != tests[5])
    assert [e for _n, e in events if isinstance(e, protocol.Done)]
