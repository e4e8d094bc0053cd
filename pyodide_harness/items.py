"""The host's items, one per (suite test, runtime), and the reports rebuilt for them.

A runtime's serialized reports are rebuilt into pytest reports of the host's
item (``rebuild``), so pytest's terminal, ``--junitxml``, ``-x`` and exit status
work unchanged.

The runtime is part of the node id the way a parametrization is: its last
parameter. ``tests/t.py::test_a`` in Node is ``tests/t.py::test_a[node]``,
``tests/t.py::test_p[2]`` is ``tests/t.py::test_p[2-node]``. Such ids are what
pytest itself prints and parses (pytest 9.2 reads everything after the first
``[`` of the last name as the parameters, up to a final ``]``), so an id copied
from the output can be pasted back and selects that test in that runtime.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pytest

from . import target
from .causes import first_line

When = Literal["setup", "call", "teardown"]


def with_runtime(name: str, runtime: str) -> str:
    """A test name (or node id, or location domain) with the runtime as its last parameter."""
    if name.endswith("]") and "[" in name.rpartition("::")[2]:
        return f"{name[:-1]}-{runtime}]"
    return f"{name}[{runtime}]"


host_nodeid = with_runtime  # the host's id of a suite test in one runtime


def split_host_nodeid(nodeid: str, runtimes: Sequence[str]) -> tuple[str, str] | None:
    """``(suite id, runtime)`` of a host id, or None when it names no runtime."""
    if "::" not in nodeid or not nodeid.endswith("]"):
        return None
    head, bracket, params = nodeid.rpartition("::")[2].partition("[")
    if not bracket:
        return None
    prefix = nodeid[: len(nodeid) - len(head) - len(bracket) - len(params)]
    params = params[:-1]
    rest, dash, runtime = params.rpartition("-")
    if runtime not in runtimes:
        return None
    return (f"{prefix}{head}[{rest}]" if dash else f"{prefix}{head}"), runtime


def split_runtime_args(args: Sequence[str], runtimes: Sequence[str]) -> dict[str, list[str] | None]:
    """Route node ids copied from our output (``test_x.py::test_y[node]``) to their runtime.

    Plain paths go to every runtime. A runtime left with nothing while other runtimes
    got their own ids maps to None: it has nothing to run.
    """
    plain: list[str] = []
    own: dict[str, list[str]] = {name: [] for name in runtimes}
    for arg in args:
        found = split_host_nodeid(arg, runtimes)
        if found is not None:
            own[found[1]].append(found[0])
        else:
            plain.append(arg)
    specific = any(own.values())
    return {name: ([*plain, *own[name]] if own[name] or plain or not specific else None)
            for name in runtimes}


class PyodideItem(pytest.Item):
    """One test of the suite in one runtime; it is run by the runtime, never here."""

    # pytest-run-parallel's opt-out for items that are not functions (its plugin object is
    # also kept from registering: see hostplugins.BLOCKED).
    _parallel_custom_item = True

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
        return self.session.config.rootpath / path, lineno, with_runtime(domain, self.runtime)


def make_item(session: pytest.Session, runtime: str, nodeid: str,
              location: tuple[str, int | None, str], keywords: Sequence[str]) -> PyodideItem:
    name = nodeid.rsplit("::", 1)[-1]
    item: PyodideItem = PyodideItem.from_parent(
        session, name=with_runtime(name, runtime), nodeid=host_nodeid(nodeid, runtime),
        suite_nodeid=nodeid, runtime=runtime, suite_location=location,
    )
    item.extra_keyword_matches.update(keywords)
    item.extra_keyword_matches.add(runtime)
    return item


def host_path(path: str, rootpath: Path) -> str:
    """A path inside the runtime's project copy, as the same file on the host."""
    prefix = target.PROJECT_DIR + "/"
    return str(rootpath / path[len(prefix):]) if path.startswith(prefix) else path


def rebuild(config: pytest.Config, data: dict[str, Any], item: PyodideItem | None,
            runtime: str, instance: str) -> pytest.TestReport | pytest.CollectReport:
    """A runtime's serialized report as a host report of the host's item."""
    longrepr = data.get("longrepr")
    if isinstance(longrepr, list):  # a skip's (path, lineno, reason), made a list by JSON
        path, lineno, reason = longrepr
        data = {**data, "longrepr": (host_path(path, config.rootpath), lineno, reason)}
    rep: pytest.TestReport | pytest.CollectReport = config.hook.pytest_report_from_serializable(
        config=config, data=data)
    if item is not None and isinstance(rep, pytest.TestReport):
        rep.location = item.location  # the host's location, so headlines name the runtime
        if not rep.keywords:  # not sent with each report: the item has them
            rep.keywords = dict.fromkeys(item.extra_keyword_matches, 1)
    rep.pyodide_nodeid = rep.nodeid or f"<{instance}>"  # type: ignore[union-attr]
    rep.nodeid = host_nodeid(rep.nodeid, runtime) if rep.nodeid else f"<{instance}>"
    rep.pyodide_runtime = runtime  # type: ignore[union-attr]
    return rep


def crash_message(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The one-line message of a report, from its structured data (not from its text)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, lineno, "Skipped: why")
        return str(longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return first_line(str(longrepr or ""))


def publish(config: pytest.Config, session: pytest.Session,
            collected: Sequence[tuple[list[pytest.CollectReport], list[PyodideItem]]]) -> None:
    """Every runtime collected: its items become the session's, its errors are reported.

    -k, -m, --deselect and the suite's own ``pytest_collection_modifyitems`` ran inside
    each runtime, once; the host's items are not selected or reordered again.
    """
    hook = config.hook
    items: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for errors, runtime_items in collected:
        for rep in errors:
            hook.pytest_collectreport(report=rep)
        items += [i for i in runtime_items if not i.deselected]
        deselected += [i for i in runtime_items if i.deselected]
        result: list[pytest.Item | pytest.Collector] = [*runtime_items]
        hook.pytest_collectreport(report=pytest.CollectReport(
            nodeid="", outcome="passed", longrepr=None, result=result))
    if deselected:
        hook.pytest_deselected(items=deselected)
    session.items = items
    hook.pytest_collection_finish(session=session)
    session.testscollected = len(items)


def record_warning(config: pytest.Config, instance: str, runtime: str, category: str,
                   message: str, filename: str, lineno: int, when: str, nodeid: str) -> None:
    """A runtime's warning, in pytest's warnings summary, located in the project's file."""
    warning = warnings.WarningMessage(UserWarning(f"[{instance}] {category}: {message}"),
                                      UserWarning, host_path(filename, config.rootpath), lineno)
    config.hook.pytest_warning_recorded.call_historic(kwargs={
        "warning_message": warning, "when": when,
        "nodeid": host_nodeid(nodeid, runtime) if nodeid else "", "location": None})
