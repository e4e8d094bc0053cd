"""Hands out tests to the instances of one runtime as they ask, like pytest-xdist's ``load``.

With ``--pyodide-workers N`` a runtime runs as N instances. Each collects the
whole suite; none runs anything until the host sends it tests. The scheduler
keeps the tests not handed out yet, in collection order, and each instance's
own queue. Tests go out in runs of consecutive tests (pytest orders a suite so
neighbours share fixtures), a quarter of a fair share first, then more whenever
an instance's queue runs low, so a slow instance never holds back the rest.

An instance that dies gives its queue back (minus the test it died in, which
the host reports as failed): a restarted instance, or a sibling still at work,
takes those tests. When nothing is left to hand out, instances are told to
shut down once their queue is empty.

This module knows nothing of pytest, asyncio or runtimes: it turns what
happened (collected, finished, died) into commands for instances, which the
controller sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# A command for one instance: {"run": [nodeid, ...]} or {"shutdown": True}.
Command = dict[str, Any]
# An instance is topped up before its queue falls under two tests (it would wait for
# the host's answer before running its last one), so it never idles while tests are left.
LOW_WATER = 3
MIN_CHUNK = 4

DIFFERENT_COLLECTION = (
    "{node} collected {count} tests, but {first} collected {first_count}{example}: the "
    "instances of one runtime must collect the same tests for --pyodide-workers to share them "
    "out. Make collection deterministic (no random or time-dependent parameters), or run with "
    "--pyodide-workers 1."
)


@dataclass
class _Node:
    queue: list[str] = field(default_factory=list)  # sent, not finished
    shutdown: bool = False


class LoadScheduler:
    """The tests of one runtime, shared among its instances (see the module docstring)."""

    def __init__(self, instances: int) -> None:
        self.instances = max(1, instances)
        self.collection: list[str] | None = None
        self.collected_by = ""
        self.pending: list[str] = []  # not handed out yet, in collection order
        self.nodes: dict[str, _Node] = {}
        self.finished: set[str] = set()

    # -- what happened --------------------------------------------------------------------
    def collected(self, node: str, nodeids: Sequence[str]) -> list[tuple[str, Command]]:
        """An instance collected; it joins and gets its first tests.

        Raises ValueError (with the message to show) when it collected other tests
        than the first instance did: sharing by node id would then lose tests.
        """
        if self.collection is None:
            self.collection, self.collected_by = list(nodeids), node
            self.pending = list(nodeids)
        elif list(nodeids) != self.collection:
            missing = sorted(set(self.collection) - set(nodeids))
            extra = sorted(set(nodeids) - set(self.collection))
            example = (f" (not collected there: {missing[0]})" if missing
                       else f" (only collected there: {extra[0]})" if extra
                       else " (in another order)")
            raise ValueError(DIFFERENT_COLLECTION.format(
                node=node, count=len(nodeids), first=self.collected_by,
                first_count=len(self.collection), example=example))
        self.nodes[node] = _Node()
        return self._initial(node)

    def finished_test(self, node: str, nodeid: str) -> list[tuple[str, Command]]:
        """An instance finished a test; it may need more."""
        self.finished.add(nodeid)
        state = self.nodes.get(node)
        if state is None:
            return []
        if nodeid in state.queue:
            state.queue.remove(nodeid)
        return self._top_up(node)

    def died(self, node: str, current: str | None) -> list[tuple[str, Command]]:
        """An instance stopped (crashed, killed, or its session ended).

        Its unfinished tests, except ``current`` (the one it died in), go back to
        the front of what is left, in their order; live instances may take them now.
        """
        state = self.nodes.pop(node, None)
        if state is None:
            return []
        if current is not None:
            self.finished.add(current)
        back = [n for n in state.queue if n not in self.finished]
        self.pending[:0] = back
        commands: list[tuple[str, Command]] = []
        for other in list(self.nodes):
            commands += self._top_up(other)
        return commands

    # -- what is left -----------------------------------------------------------------------
    @property
    def unfinished(self) -> list[str]:
        """Tests nobody finished (handed out or not): what was not run if all stopped."""
        return [n for n in self.collection or () if n not in self.finished]

    # -- deciding -----------------------------------------------------------------------------
    def _initial(self, node: str) -> list[tuple[str, Command]]:
        """A quarter of a fair share, and at least MIN_CHUNK tests."""
        return self._send(node, max(MIN_CHUNK, len(self.collection or ()) // self.instances // 4))

    def _top_up(self, node: str) -> list[tuple[str, Command]]:
        """More tests when the instance's queue runs low."""
        state = self.nodes[node]
        if state.shutdown:
            return []
        share = len(self.pending) // len(self.nodes)
        if self.pending and len(state.queue) < max(LOW_WATER, share // 4):
            return self._send(node, max(MIN_CHUNK, share // 2) - len(state.queue))
        return self._maybe_shutdown(node)

    def _send(self, node: str, count: int) -> list[tuple[str, Command]]:
        state = self.nodes[node]
        tests, self.pending = self.pending[:count], self.pending[count:]
        state.queue += tests
        commands: list[tuple[str, Command]] = [(node, {"run": tests})] if tests else []
        return commands + self._maybe_shutdown(node)

    def _maybe_shutdown(self, node: str) -> list[tuple[str, Command]]:
        """Shutdown once nothing is left to hand out and the instance is about to idle.

        Not earlier: tests a dying sibling gives back can still go to this instance.
        Not later: an instance holds its last test until it knows what comes after
        it (pytest's ``nextitem`` decides which fixtures to tear down), so with one
        test left it waits for either more tests or the shutdown.
        """
        state = self.nodes[node]
        if state.shutdown or self.pending or len(state.queue) > 1:
            return []
        state.shutdown = True
        return [(node, {"shutdown": True})]
