"""Runs several runtimes at once and hands their events to the (synchronous) host.

pytest's hooks run on the main thread; the runtimes are asyncio tasks (Node
processes, Playwright browsers) on one event loop in a background thread. Events
cross over through a thread-safe queue, in arrival order, tagged with the runtime
that sent them; start-up costs of the runtimes overlap instead of adding up.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from .protocol import Crashed, Event
from .runners.base import Runtime, RuntimeJob


@dataclass(frozen=True)
class Finished:
    """Not a protocol event: the runtime's task is over (after Done or Crashed)."""


class Controller:
    """Start runtimes, iterate over ``(runtime name, event)``, stop them all."""

    def __init__(self, work: Sequence[tuple[Runtime, RuntimeJob]]) -> None:
        self._work = list(work)
        self._queue: queue.Queue[tuple[str, Event | Finished]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="pyodide-harness-runtimes")
        self._futures: list[Future[None]] = []
        self._running = 0

    def start(self) -> None:
        self._thread.start()
        for runtime, job in self._work:
            self._futures.append(
                asyncio.run_coroutine_threadsafe(self._run(runtime, job), self._loop)
            )
            self._running += 1

    async def _run(self, runtime: Runtime, job: RuntimeJob) -> None:
        name = runtime.name

        def emit(event: Event) -> None:
            self._queue.put((name, event))

        try:
            await runtime.run(job, emit)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a runner bug or a launch failure: still a report
            emit(Crashed(reason=f"{name} failed: {exc}", output=traceback.format_exc()))
        finally:
            await runtime.close()
            self._queue.put((name, Finished()))

    def events(self, timeout: float | None = None) -> Iterator[tuple[str, Event]]:
        """Yield events until every runtime has finished."""
        while self._running:
            name, item = self._queue.get(timeout=timeout)
            if isinstance(item, Finished):
                self._running -= 1
                continue
            yield name, item

    def close(self) -> None:
        """Cancel whatever still runs and wait for every runtime to be released."""
        if not self._thread.is_alive():
            return
        for fut in self._futures:
            fut.cancel()

        async def _drain() -> None:
            tasks = [t for t in asyncio.all_tasks(self._loop) if t is not asyncio.current_task()]
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_drain(), self._loop).result(timeout=60)
        except Exception:
            pass
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
