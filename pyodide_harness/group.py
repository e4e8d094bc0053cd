"""What the host knows about each runtime during a run, shared explicitly.

A ``RuntimeGroup`` is one runtime as the user sees it (``node``): its items, the
tests selected and reported, its collection errors and environment. With
``--pyodide-workers N`` it has N ``Instance`` objects ("node", "node#2", ...),
each a session of its own that the controller restarts when it dies; the
instances share their group's state by holding the group, never by passing the
same dicts around.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from . import protocol
from .items import PyodideItem, make_item


@dataclass
class Instance:
    """One session of a runtime (restarted as the same instance after a crash)."""

    name: str  # "node", "node#2"
    group: RuntimeGroup
    current: str | None = None  # suite node id of the test being run
    pending: list[pytest.TestReport] = field(default_factory=list)  # its phases so far
    ran: int = 0
    exitstatus: int | None = None
    # host clock (time.monotonic) at each step of its first attempt; None until then
    started: float = field(default_factory=time.monotonic)
    ready: float | None = None
    collected_at: float | None = None
    done: float | None = None
    boot: float = 0.0  # seconds, measured inside the runtime
    install: float = 0.0

    @property
    def runtime(self) -> str:
        return self.group.runtime

    @property
    def primary(self) -> bool:
        """The group's first instance reports collection errors and import origins for it."""
        return self.group.primary is self

    @property
    def collected(self) -> bool:
        return self.collected_at is not None

    @property
    def finished(self) -> bool:
        return self.done is not None

    def timings(self) -> dict[str, float]:
        """Launch, boot, install, collection and run seconds (``results.TIMINGS``)."""
        out: dict[str, float] = {}
        if self.ready is not None:
            out["launch"] = max(0.0, self.ready - self.started - self.boot - self.install)
            out["boot"], out["install"] = self.boot, self.install
            if self.collected_at is not None:
                out["collection"] = self.collected_at - self.ready
                if self.done is not None:
                    out["run"] = self.done - self.collected_at
        return out


@dataclass
class RuntimeGroup:
    """One runtime and everything its instances found, for the whole run."""

    runtime: str
    instances: dict[str, Instance] = field(default_factory=dict)
    items: dict[str, PyodideItem] = field(default_factory=dict)  # suite node id -> item
    selected: dict[str, None] = field(default_factory=dict)  # suite node ids to run, in order
    reported: set[str] = field(default_factory=set)  # suite node ids with a final report
    collect_errors: list[pytest.CollectReport] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)

    def add_instance(self, name: str) -> Instance:
        instance = Instance(name, self)
        self.instances[name] = instance
        return instance

    @property
    def primary(self) -> Instance:
        return next(iter(self.instances.values()))

    @property
    def collected(self) -> bool:
        return any(i.collected for i in self.instances.values())

    @property
    def finished(self) -> bool:
        return all(i.finished for i in self.instances.values())

    @property
    def left(self) -> list[str]:
        """Selected tests without a final report, in run order."""
        return [n for n in self.selected if n not in self.reported]

    def take_collection(self, session: pytest.Session, event: protocol.Collected) -> None:
        """Items for what an instance collected: one per suite test, deselected ones too
        (so pytest counts them); a test another instance selected stays selected."""
        for ci in event.items:
            self.selected.setdefault(ci.nodeid)
            item = self.items.get(ci.nodeid)
            if item is None:
                self.items[ci.nodeid] = make_item(session, self.runtime, ci.nodeid, ci.location,
                                                  ci.keywords)
            else:  # a resumed session, or another instance's deselection
                item.deselected = False
        for nodeid in event.deselected:
            if nodeid not in self.items:
                item = make_item(session, self.runtime, nodeid,
                                 (nodeid.split("::")[0], None, nodeid.rsplit("::", 1)[-1]), ())
                item.deselected = True
                self.items[nodeid] = item


class Groups:
    """Every runtime group, and which group each instance name belongs to."""

    def __init__(self) -> None:
        self.groups: dict[str, RuntimeGroup] = {}
        self.instances: dict[str, Instance] = {}

    def add(self, runtime: str, instance: str) -> Instance:
        group = self.groups.setdefault(runtime, RuntimeGroup(runtime))
        self.instances[instance] = found = group.add_instance(instance)
        return found

    def __iter__(self) -> Iterator[RuntimeGroup]:
        return iter(self.groups.values())

    def __getitem__(self, instance: str) -> Instance:
        return self.instances[instance]

    @property
    def all_collected(self) -> bool:
        return all(i.collected or i.finished for i in self.instances.values())
