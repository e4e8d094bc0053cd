"""The typed events a runtime sends to the host, one JSON object per message.

The in-runtime plugin (``inner/pyodide_harness_inner.py``) and the JS bootstrap
write them; every runtime, Node or browser, speaks exactly this protocol, whose
version (``PROTOCOL_VERSION``, from the inner plugin) ``session_started`` carries.
``decode`` turns a message into one of the dataclasses below, and the host
handles them with an exhaustive ``match`` closed by ``assert_never`` (see
``session.py``), so an event nobody handles is a type error, not a silent drop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .inner.pyodide_harness_inner import PROTOCOL_VERSION as PROTOCOL_VERSION


class ProtocolError(Exception):
    """A runtime sent something that is not an event of this protocol."""


@dataclass(frozen=True)
class RuntimeReady:
    """Pyodide booted and the wheels are installed."""

    environment: dict[str, str]
    boot_seconds: float
    install_seconds: float


@dataclass(frozen=True)
class InstallFailed:
    """``pyodide.loadPackage`` reported errors for some wheels."""

    messages: list[str]


@dataclass(frozen=True)
class SessionStarted:
    """The in-runtime pytest session started (``protocol_version``: what it speaks)."""

    pytest_version: str
    python_version: str
    platform: str
    protocol_version: int = PROTOCOL_VERSION


@dataclass(frozen=True)
class CollectedItem:
    nodeid: str
    location: tuple[str, int | None, str]
    keywords: list[str]


@dataclass(frozen=True)
class Collected:
    """The final selection in run order, what was deselected, and import origins."""

    items: list[CollectedItem]
    deselected: list[str]
    import_origins: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class CollectReport:
    """A collection error or skipped module (serialized ``CollectReport``)."""

    report: dict[str, Any]


@dataclass(frozen=True)
class ModuleMissing:
    """A module the suite imports could not be imported in the runtime (``importer``: the
    file that imported it; ``nodeid``: the collector, "" for an initial conftest)."""

    module: str
    importer: str
    nodeid: str


@dataclass(frozen=True)
class TestStarted:
    __test__ = False  # a protocol event, not something for pytest to collect
    nodeid: str
    timeout: float | None = None  # seconds per phase the watchdog allows (None: no limit)


@dataclass(frozen=True)
class TestReport:
    __test__ = False  # a protocol event, not something for pytest to collect
    """One phase of one test (serialized ``TestReport``)."""

    report: dict[str, Any]

    @property
    def nodeid(self) -> str:
        return str(self.report["nodeid"])


@dataclass(frozen=True)
class TestFinished:
    __test__ = False  # a protocol event, not something for pytest to collect
    nodeid: str


@dataclass(frozen=True)
class Warning:
    message: str
    category: str
    filename: str
    lineno: int
    when: str
    nodeid: str


@dataclass(frozen=True)
class SessionFinished:
    exitstatus: int


@dataclass(frozen=True)
class CoverageMeasured:
    """coverage.py's data from inside the runtime (``--pyodide-cov``): what ran since the
    last such event (sent before each ``test_finished``), or with ``final`` everything the
    session measured. ``lines`` (or with ``branch`` ``arcs``) maps the runtime's paths to
    line numbers (arcs: line pairs); an empty list is a file measured that never ran."""

    branch: bool
    lines: dict[str, list[int]] = field(default_factory=dict)
    arcs: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    final: bool = False
    warnings: list[str] = field(default_factory=list)  # coverage.py's, with final
    error: str = ""  # coverage could not start or stopped measuring
    measured_by: str = ""  # with final: coverage.py's version and core ("SysMonitor")


@dataclass(frozen=True)
class Interrupted:
    """The suite ended the in-runtime session as pytest lets it: KeyboardInterrupt raised by
    a test, a fixture or a module (``path``:``lineno``, where it was raised; ``message``:
    pytest's one line for it), or ``pytest.exit`` (``exit``; ``message`` is its reason).
    The host ends its run the same way (``interrupts.py``)."""

    nodeid: str  # the test it came from, "" outside tests
    message: str
    path: str
    lineno: int
    exit: bool = False
    returncode: int | None = None  # pytest.exit's


@dataclass(frozen=True)
class InternalError:
    """The in-runtime pytest raised instead of returning (e.g. a bad option)."""

    text: str


@dataclass(frozen=True)
class Done:
    """The in-runtime session is over; nothing more will come."""

    exitstatus: int
    seconds: float


@dataclass(frozen=True)
class RuntimeError_:
    """The JS side failed outside Python (boot failure, fatal error)."""

    text: str


@dataclass(frozen=True)
class Crashed:
    """Made by the host, not sent: the runtime died before ``Done``.

    ``will_restart`` says whether the controller starts the runtime again and
    resumes after the tests already done (see ``controller.py``).
    """

    reason: str
    output: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    will_restart: bool = False
    restarts: int = 0


Event: TypeAlias = (
    RuntimeReady
    | InstallFailed
    | SessionStarted
    | Collected
    | CollectReport
    | ModuleMissing
    | TestStarted
    | TestReport
    | TestFinished
    | Warning
    | SessionFinished
    | CoverageMeasured
    | Interrupted
    | InternalError
    | Done
    | RuntimeError_
    | Crashed
)


def _collected(d: dict[str, Any]) -> Collected:
    items = [
        CollectedItem(
            nodeid=i["nodeid"],
            location=(i["location"][0], i["location"][1], i["location"][2]),
            keywords=list(i.get("keywords", ())),
        )
        for i in d["items"]
    ]
    return Collected(items, list(d.get("deselected", ())), dict(d.get("import_origins", {})))


def _report(d: dict[str, Any]) -> dict[str, Any]:
    """A serialized pytest report, with the fields the host relies on."""
    report = d["report"]
    if not isinstance(report, dict) or not isinstance(report["nodeid"], str) \
            or not isinstance(report["outcome"], str):
        raise TypeError("report without a string nodeid and outcome")
    return report


def _test_report(d: dict[str, Any]) -> dict[str, Any]:
    """A serialized ``TestReport``, whole again.

    Test reports come without what the host knows from ``collected`` (location,
    keywords) and without empty fields; the defaults are put back here, so the
    result is what ``pytest_report_from_serializable`` expects.
    """
    report = _report(d)
    nodeid = report["nodeid"]
    if "location" not in report:
        report["location"] = [nodeid.split("::")[0], None, nodeid.rsplit("::", 1)[-1]]
    report.setdefault("keywords", {})
    report.setdefault("longrepr", None)
    report.setdefault("sections", [])
    report.setdefault("user_properties", [])
    return report


def _coverage(d: dict[str, Any]) -> CoverageMeasured:
    files = d["files"]
    if not isinstance(files, dict):
        raise TypeError("coverage files are not an object")
    common: dict[str, Any] = {
        "final": bool(d.get("final")), "warnings": [str(w) for w in d.get("warnings", ())],
        "error": str(d.get("error", "")), "measured_by": str(d.get("measured_by", ""))}
    if d["branch"]:
        arcs = {str(path): [(int(a), int(b)) for a, b in pairs] for path, pairs in files.items()}
        return CoverageMeasured(True, arcs=arcs, **common)
    lines = {str(path): [int(n) for n in numbers] for path, numbers in files.items()}
    return CoverageMeasured(False, lines=lines, **common)


def decode(message: str) -> Event:
    """Parse one protocol message; raise ProtocolError for anything else."""
    try:
        d = json.loads(message)
        kind = d["event"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"not a protocol message: {message[:200]!r}") from exc
    try:
        match kind:
            case "runtime_ready":
                env = {str(k): str(v) for k, v in d["environment"].items()}
                return RuntimeReady(env, float(d["boot_seconds"]), float(d["install_seconds"]))
            case "install_failed":
                return InstallFailed([str(m) for m in d["messages"]])
            case "session_started":
                return SessionStarted(d["pytest_version"], d["python_version"], d["platform"],
                                      int(d.get("protocol_version", 0)))
            case "collected":
                return _collected(d)
            case "collect_report":
                return CollectReport(_report(d))
            case "module_missing":
                return ModuleMissing(str(d["module"]), str(d["importer"]), str(d["nodeid"]))
            case "test_started":
                timeout = d.get("timeout")
                return TestStarted(d["nodeid"], float(timeout) if timeout else None)
            case "test_report":
                return TestReport(_test_report(d))
            case "test_finished":
                return TestFinished(d["nodeid"])
            case "warning":
                return Warning(
                    d["message"], d["category"], d["filename"], int(d["lineno"]),
                    d["when"], d["nodeid"],
                )
            case "session_finished":
                return SessionFinished(int(d["exitstatus"]))
            case "coverage":
                return _coverage(d)
            case "interrupted":
                code = d.get("returncode")
                return Interrupted(str(d["nodeid"]), str(d["message"]), str(d["path"]),
                                   int(d["lineno"]), bool(d.get("exit", False)),
                                   int(code) if code is not None else None)
            case "internal_error":
                return InternalError(d["text"])
            case "done":
                return Done(int(d["exitstatus"]), float(d["seconds"]))
            case "runtime_error":
                return RuntimeError_(d["text"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ProtocolError(f"malformed {kind!r} event: {message[:200]!r}") from exc
    raise ProtocolError(f"unknown event {kind!r}: {message[:200]!r}")
