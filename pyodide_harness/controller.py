"""Runs several runtimes at once, supervises them, and hands their events to the host.

pytest's hooks run on the main thread; the runtimes are asyncio tasks (Node
processes, Playwright browsers) on one event loop in a background thread. Events
cross over through a thread-safe queue, in arrival order, tagged with the runtime
that sent them, so start-up costs overlap instead of adding up.

Supervision lives here because it is the same for every runtime:
- a watchdog gives each test phase its timeout, then interrupts the test through
  Pyodide's interrupt buffer, then, after a grace period, closes the runtime;
- a runtime that dies after collection (crash, fatal error, killed process or the
  watchdog) is started again and resumes after the tests already done, up to
  ``max_restarts`` times. Death before collection is not retried: it would only
  die again;
- once the run is shutting down (``stop``: the host was interrupted, or ``close``
  began), a runtime that ends is neither restarted nor reported as crashed: a
  browser or driver going away then is the shutdown, not a crash to recover from.

Instances of one runtime that share its tests (``--pyodide-workers``, jobs whose
options have ``schedule="load"``) get them from one ``scheduling.LoadScheduler`` per runtime,
fed from here as events arrive, so a runtime that asks for more tests gets them
without a round trip through pytest's thread. A restarted instance collects
again and is sent what its dead attempt had not finished.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from . import protocol
from .protocol import Crashed, Event
from .runners.base import Runtime, RuntimeJob
from .scheduling import Command, LoadScheduler


@dataclass(frozen=True)
class Finished:
    """Not a protocol event: the runtime's task is over (after Done or a final Crashed)."""


@dataclass(frozen=True)
class Supervision:
    default_timeout: float | None = None  # the inner session computes each test's own
    grace: float = 10.0  # seconds an interrupt gets to land before the runtime is closed
    max_restarts: int = 5
    poll: float = 0.25


@dataclass
class _Attempt:
    """What one session of a runtime has done so far, seen through its events."""

    collected: bool = False
    done: bool = False
    current: str | None = None
    timeout: float | None = None
    last_event: float = field(default_factory=time.monotonic)
    finished: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crash: Crashed | None = None
    timed_out: tuple[str, float] | None = None  # (test, timeout) the watchdog acted on
    uninterruptible: bool = False  # the runtime refused the interrupt


class Controller:
    """Start runtimes, iterate over ``(runtime name, event)``, stop them all."""

    def __init__(self, work: Sequence[tuple[Runtime, RuntimeJob]],
                 supervision: Supervision | None = None) -> None:
        self._work = list(work)
        self.supervision = supervision or Supervision()
        self._queue: queue.Queue[tuple[str, Event | Finished]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="pyodide-harness-runtimes")
        self._futures: list[Future[None]] = []
        self._running = 0
        # A plain flag, not a threading.Event: set from a signal handler, where taking
        # a lock the interrupted main thread might hold would deadlock; read by the loop.
        self._stopping = False
        # One scheduler per runtime whose instances share the tests; each instance's
        # commands wait in its outbox while its current attempt runs.
        self._schedulers: dict[str, LoadScheduler] = {}
        for _runtime, job in self._work:
            if job.options.schedule == "load":
                key = job.options.runtime
                instances = sum(1 for _r, j in self._work if j.options.runtime == key)
                self._schedulers.setdefault(key, LoadScheduler(instances))
        self._outboxes: dict[str, asyncio.Queue[str]] = {}

    def _scheduler(self, job: RuntimeJob) -> LoadScheduler | None:
        return self._schedulers.get(job.options.runtime)

    def _dispatch(self, commands: list[tuple[str, Command]]) -> None:
        for instance, command in commands:
            outbox = self._outboxes.get(instance)
            if outbox is not None:
                outbox.put_nowait(json.dumps(command, separators=(",", ":")))

    def start(self) -> None:
        self._thread.start()
        for runtime, job in self._work:
            self._futures.append(
                asyncio.run_coroutine_threadsafe(self._supervise(runtime, job), self._loop)
            )
            self._running += 1

    def stop(self) -> None:
        """The run is shutting down: from now on a runtime that ends is neither restarted
        nor reported as crashed. Safe from a signal handler (it only sets a flag)."""
        self._stopping = True

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def _supervise(self, runtime: Runtime, job: RuntimeJob) -> None:
        name = job.instance or runtime.name
        done_before: list[str] = []
        restarts = 0
        try:
            while not self.stopping:
                attempt = _Attempt()
                options = job.options
                if done_before and self._scheduler(job) is None:  # else the scheduler resumes
                    options = replace(options, skip=tuple(done_before))
                await self._attempt(runtime, replace(job, options=options), attempt)
                scheduler = self._scheduler(job)
                if scheduler is not None:  # its unfinished tests go back to be shared again
                    self._dispatch(scheduler.died(name, None if attempt.done else attempt.current))
                if attempt.done or self.stopping:
                    return  # finished, or ended by the shutdown: no crash to report
                crash = self._crash_event(name, attempt)
                will_restart = attempt.collected and restarts < self.supervision.max_restarts
                self._queue.put((name, replace(crash, will_restart=will_restart,
                                               restarts=restarts)))
                if not will_restart:
                    return
                restarts += 1
                done_before += attempt.finished
                if attempt.current is not None:
                    done_before.append(attempt.current)
        finally:
            self._queue.put((name, Finished()))

    async def _attempt(self, runtime: Runtime, job: RuntimeJob, attempt: _Attempt) -> None:
        """Run one session, watching it; Crashed and runtime errors are kept, not passed on."""
        name = job.instance or runtime.name
        scheduler = self._scheduler(job)

        def emit(event: Event) -> None:
            attempt.last_event = time.monotonic()
            match event:
                case protocol.Crashed():
                    attempt.crash = event
                    return
                case protocol.RuntimeError_(text=text):
                    attempt.errors.append(text)
                    if not attempt.collected:
                        self._queue.put((name, event))
                    return
                case protocol.Collected(items=items):
                    attempt.collected = True
                    if scheduler is not None:
                        self._queue.put((name, event))
                        self._join(scheduler, name, [i.nodeid for i in items])
                        return
                case protocol.TestStarted(nodeid=nodeid, timeout=timeout):
                    attempt.current, attempt.timeout = nodeid, timeout
                    attempt.timed_out = None
                case protocol.TestFinished(nodeid=nodeid):
                    attempt.finished.append(nodeid)
                    attempt.current = attempt.timeout = None
                    if scheduler is not None:
                        self._dispatch(scheduler.finished_test(name, nodeid))
                case protocol.Done():
                    attempt.done = True
                    for text in attempt.errors:  # held back for a crash that never came
                        self._queue.put((name, protocol.RuntimeError_(text)))
                case _:
                    pass
            self._queue.put((name, event))

        watchdog = asyncio.create_task(self._watch(runtime, attempt))
        sender: asyncio.Task[None] | None = None
        if scheduler is not None:  # only instances that share tests are sent commands
            outbox: asyncio.Queue[str] = asyncio.Queue()
            self._outboxes[name] = outbox
            sender = asyncio.create_task(self._send_all(runtime, outbox))
        try:
            await runtime.run(job, emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a launch failure or a runner bug: still a report
            attempt.crash = Crashed(reason=f"failed: {exc}", output=traceback.format_exc())
        finally:
            self._outboxes.pop(name, None)
            watchdog.cancel()
            if sender is not None:
                sender.cancel()
            await runtime.close()

    def _join(self, scheduler: LoadScheduler, name: str, nodeids: list[str]) -> None:
        """A collected instance joins its runtime's scheduler and gets its first tests."""
        try:
            self._dispatch(scheduler.collected(name, nodeids))
        except ValueError as exc:  # it collected other tests: it runs none, the others run all
            self._dispatch([(name, {"shutdown": True})])
            self._queue.put((name, protocol.RuntimeError_(str(exc))))

    @staticmethod
    async def _send_all(runtime: Runtime, outbox: asyncio.Queue[str]) -> None:
        """Commands go out one at a time, in order (a browser's are page calls)."""
        while True:
            command = await outbox.get()
            try:
                delivered = await runtime.send(command)
            except Exception:  # a runtime torn down mid-send: its attempt is being judged
                delivered = False
            if not delivered:
                return  # gone; its tests go back to the scheduler when its attempt ends

    async def _watch(self, runtime: Runtime, attempt: _Attempt) -> None:
        interrupted_at: float | None = None
        resent = False
        current: str | None = None
        while True:
            await asyncio.sleep(self.supervision.poll)
            if attempt.current != current:  # a new test: a fresh budget
                current, interrupted_at, attempt.timed_out = attempt.current, None, None
            limit = attempt.timeout or self.supervision.default_timeout
            if current is None or not limit:
                continue
            now = time.monotonic()
            if interrupted_at is None:
                if now - attempt.last_event > limit:
                    attempt.timed_out = (current, limit)
                    interrupted_at, resent = now, False
                    if not await runtime.interrupt():
                        attempt.uninterruptible = True
                        await runtime.close()  # nothing to wait for
                        return
            elif attempt.last_event > interrupted_at:
                interrupted_at = None  # the interrupt landed: the test reported, go on
                attempt.timed_out = None
            elif now - interrupted_at >= self.supervision.grace:
                await runtime.close()  # run() now returns and the attempt is judged
                return
            elif not resent and now - interrupted_at >= self.supervision.grace / 2:
                # Seen once in CI under load (Chromium): an interrupt that never landed
                # in a pure-Python loop. A second one costs nothing; then the grace ends.
                resent = True
                await runtime.interrupt()

    def _crash_event(self, name: str, attempt: _Attempt) -> Crashed:
        output = "\n".join([*attempt.errors, attempt.crash.output if attempt.crash else ""])
        if attempt.timed_out is not None and attempt.timed_out[0] == attempt.current:
            if attempt.uninterruptible:
                why = f"{name} could not be interrupted"
            else:
                why = f"the interrupt did not land within {self.supervision.grace:g}s"
            reason = f"Timeout (>{attempt.timed_out[1]:g}s) in {name}: {why}, so {name} was stopped"
        elif attempt.errors:
            first = attempt.errors[0].strip().splitlines()
            reason = f"{name} failed fatally ({first[0] if first else 'unknown error'})"
        elif attempt.crash is not None:
            reason = attempt.crash.reason
        else:
            reason = f"{name} stopped without finishing its session"
        details = dict(attempt.crash.details) if attempt.crash else {}
        return Crashed(reason=reason, output=output.strip(), details=details)

    def events(self, timeout: float | None = None, *, idle: float = 1.0,
               on_idle: Callable[[], None] | None = None) -> Iterator[tuple[str, Event]]:
        """Yield events until every runtime has finished.

        With ``on_idle``, it is called whenever ``idle`` seconds pass without an event
        (for status lines); otherwise ``timeout`` seconds of silence raise ``queue.Empty``.
        """
        while self._running:
            try:
                name, item = self._queue.get(timeout=idle if on_idle else timeout)
            except queue.Empty:
                if on_idle is None:
                    raise
                on_idle()
                continue
            if isinstance(item, Finished):
                self._running -= 1
                continue
            yield name, item

    def close(self) -> None:
        """Cancel whatever still runs and wait for every runtime to be released.

        Nothing is started again from here on (``stop``), so this waits for the runtimes'
        own ``close`` only, never for a relaunch."""
        self.stop()
        if not self._thread.is_alive():
            return
        for fut in self._futures:
            fut.cancel()

        async def _drain() -> None:
            tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_drain(), self._loop).result(timeout=60)
        except Exception:  # closing must not mask the run's own outcome
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            if not self._thread.is_alive():
                self._loop.close()
