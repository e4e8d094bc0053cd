"""One results model that every report (JSON, JUnit, HTML, badges) renders from.

A run is ``Results`` -> ``PackageRun`` (one wheel) -> ``RuntimeRun`` (one of
Node, Chromium, Firefox, ...) -> ``TestResult`` (one test of the wheel's own
suite in that runtime). Keeping a single model means the reports can never
disagree with each other, and ``results.json`` is enough to re-render all of
them later (``pyodide-harness report``) or to merge shards
(``pyodide-harness merge``).

``results.json`` (schema ``pyodide-harness-results``, version 1)::

    {
      "schema": "pyodide-harness-results",
      "schema_version": 1,
      "created": "2025-01-31T12:00:00+00:00",      # ISO 8601, when the run ended
      "harness_version": "0.1.0",
      "packages": [
        {
          "name": "msgpack", "version": "1.2.4",
          "wheel": "msgpack-1.2.4-cp314-cp314-pyodide_2025_0_wasm32.whl",
          "wheel_sha256": "<hex>",
          "metadata": {"Summary": "...", ...},      # str -> str, from METADATA
          "runtimes": [
            {
              "runtime": "node",                     # any string
              "environment": {"pyodide_version": "314.0.7", ...},   # str -> str
              "errors": ["crash text", ...],         # problems not tied to one test
              "duration": 12.5,                      # seconds
              "timings": {"launch": 0.4, "boot": 2.1, "install": 0.3,
                          "collection": 0.8, "run": 8.9},  # seconds (optional)
              "restarts": [{"instance": "node", "reason": "...", "nodeid": "...",
                            "attempt": 1}],             # (optional)
              "tests": [
                {
                  "nodeid": "test/test_x.py::test_y[1]",
                  "outcome": "passed",   # passed failed skipped xfailed xpassed error not-run
                  "phase": "call",       # setup call teardown collect
                  "duration": 0.01,      # seconds, summed over phases
                  "longrepr": "",        # traceback text or skip reason
                  "sections": [["Captured stdout call", "..."]],
                  "message": "",         # one line: reason or exception line
                  "cause": "sockets"     # failing tests only (optional): see causes.py
                }
              ]
            }
          ]
        }
      ]
    }

Readers accept any ``schema_version`` up to ``SCHEMA_VERSION`` and refuse newer
ones, since a newer writer may have changed a field's meaning.

The model is built by one fold, ``ResultsBuilder.apply``, over typed records
(``PackageStarted``, ``PhaseRecorded``, ...): the live run feeds it records as
they happen and ``journal.py`` writes the same records, so replaying a journal
runs the very same code. Strings are
written with JSON ``\\u`` escapes, so text with lone surrogates (undecodable
bytes read with ``surrogateescape``) survives the round trip unchanged.
See also ``docs/results-schema.md``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from pyodide_harness import __version__, causes
from pyodide_harness.compat import assert_never
from pyodide_harness.errors import HarnessError

SCHEMA = "pyodide-harness-results"
SCHEMA_VERSION = 1
RESULTS_FILENAME = "results.json"

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
XFAILED = "xfailed"
XPASSED = "xpassed"
ERROR = "error"
NOT_RUN = "not-run"
OUTCOMES = (PASSED, FAILED, ERROR, NOT_RUN, XPASSED, XFAILED, SKIPPED)
"""Every outcome, in the order reports list them."""

BAD_OUTCOMES = frozenset({FAILED, ERROR, NOT_RUN})
"""Outcomes that make a runtime fail; skips and expected failures do not."""

SEVERITY = {PASSED: 0, XFAILED: 1, SKIPPED: 2, XPASSED: 3, NOT_RUN: 4, FAILED: 5, ERROR: 6}
"""How bad each outcome is; merging keeps the worse one."""

PHASES = ("setup", "call", "teardown", "collect")
RAW_OUTCOMES = ("passed", "failed", "skipped")

# User-facing messages; tests import them.
NO_RESULTS_FILE = (
    "{path}: no {filename} there; pass a {filename} or a report directory written by "
    "pyodide-harness"
)
NOT_JSON = "{path}: not valid JSON ({error}); pass a {filename} written by pyodide-harness"
WRONG_SCHEMA = (
    "{path}: not a pyodide-harness results file (schema is {found!r}, expected {expected!r}); "
    "pass a {filename} written by pyodide-harness"
)
NEWER_SCHEMA = (
    "{path}: results schema_version {found} is newer than this pyodide-harness {harness} "
    "reads (up to {supported}); upgrade pytest-pyodide-harness to read it"
)
MALFORMED = "{path}: malformed results ({error}); re-create it with pyodide-harness"
UNKNOWN_PACKAGE = "results for package {name!r} recorded before its PackageStarted record"
UNKNOWN_RUNTIME = (
    "results for {package!r} in runtime {runtime!r} recorded before its RuntimeStarted record"
)
BAD_PHASE = "phase {when!r} for {nodeid!r} is not one of {allowed}"
BAD_RAW_OUTCOME = "outcome {outcome!r} for {nodeid!r} is not one of {allowed}"
DIFFERENT_WHEELS = (
    "cannot merge: package {name!r} is wheel {wheel_a} (sha256 {sha_a:.12}) in {source_a} "
    "but wheel {wheel_b} (sha256 {sha_b:.12}) in {source_b}; merge only shards of the same wheel"
)
DUPLICATE_TEST = (
    "{nodeid} ({package}, {runtime}) is in {source_a} as {outcome_a} and in {source_b} "
    "as {outcome_b}; kept {kept}"
)
ENVIRONMENT_CONFLICT = (
    "{package}/{runtime}: {key} is {value_a!r} in {source_a} but {value_b!r} in {source_b}; "
    "kept {value_a!r}"
)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass
class TestResult:
    """One test of the suite in one runtime, with its phases already folded together."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: str
    phase: str
    duration: float
    longrepr: str = ""
    sections: list[tuple[str, str]] = field(default_factory=list)
    message: str = ""
    cause: str | None = None  # failing tests: a name of causes.CAUSES; None: unknown

    def to_json(self) -> dict[str, Any]:
        """The ``tests[]`` entry of results.json (``cause`` only when there is one)."""
        data = {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "phase": self.phase,
            "duration": self.duration,
            "longrepr": self.longrepr,
            "sections": [[title, text] for title, text in self.sections],
            "message": self.message,
        }
        if self.cause is not None:
            data["cause"] = self.cause
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestResult:
        """Read a ``tests[]`` entry; raises KeyError/TypeError/ValueError when malformed."""
        return cls(
            nodeid=_str(data["nodeid"]),
            outcome=_str(data["outcome"]),
            phase=_str(data.get("phase", "call")),
            duration=float(data.get("duration", 0.0)),
            longrepr=_str(data.get("longrepr", "")),
            sections=[(_str(title), _str(text)) for title, text in data.get("sections", [])],
            message=_str(data.get("message", "")),
            cause=None if data.get("cause") is None else _str(data["cause"]),
        )


#: The phases of a runtime's run that ``timings`` may hold, in order.
TIMINGS = ("launch", "boot", "install", "collection", "run")


@dataclass
class Restart:
    """A runtime instance that died and was started again (or, last, was not)."""

    instance: str  # "node", or "node#2" with --pyodide-workers
    reason: str
    nodeid: str | None  # the test it died in, None when between tests
    attempt: int  # 1 for the first restart; 0 when it was not restarted

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "reason": self.reason, "nodeid": self.nodeid,
                "attempt": self.attempt}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Restart:
        nodeid = data.get("nodeid")
        return cls(_str(data["instance"]), _str(data["reason"]),
                   None if nodeid is None else _str(nodeid), int(data.get("attempt", 0)))


@dataclass
class RuntimeRun:
    """The suite of one wheel run in one runtime."""

    runtime: str
    environment: dict[str, str] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # TIMINGS -> seconds
    restarts: list[Restart] = field(default_factory=list)
    instances: dict[str, int] = field(default_factory=dict)  # instance -> tests it ran

    def counts(self) -> dict[str, int]:
        """Tests per outcome; every outcome is a key, so reports need no defaults."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for test in self.tests:
            counts[test.outcome] = counts.get(test.outcome, 0) + 1
        return counts

    @property
    def passing(self) -> bool:
        """Whether this runtime counts as passing: tests ran, none failed, no runtime errors."""
        return bool(self.tests) and not self.errors and not self.bad_tests()

    def bad_tests(self) -> list[TestResult]:
        """Tests that make the runtime fail (failed, error, not-run)."""
        return [test for test in self.tests if test.outcome in BAD_OUTCOMES]

    def test(self, nodeid: str) -> TestResult | None:
        """The result for *nodeid*, or None when the runtime did not report it."""
        for test in self.tests:
            if test.nodeid == nodeid:
                return test
        return None

    def to_json(self) -> dict[str, Any]:
        """The ``runtimes[]`` entry of results.json."""
        return {
            "runtime": self.runtime,
            "environment": dict(self.environment),
            "errors": list(self.errors),
            "duration": self.duration,
            "timings": dict(self.timings),
            "restarts": [restart.to_json() for restart in self.restarts],
            "instances": dict(self.instances),
            "tests": [test.to_json() for test in self.tests],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuntimeRun:
        """Read a ``runtimes[]`` entry; raises KeyError/TypeError/ValueError when malformed."""
        return cls(
            runtime=_str(data["runtime"]),
            environment=_str_dict(data.get("environment", {})),
            tests=[TestResult.from_json(test) for test in data.get("tests", [])],
            errors=[_str(error) for error in data.get("errors", [])],
            duration=float(data.get("duration", 0.0)),
            timings={_str(k): float(v) for k, v in data.get("timings", {}).items()},
            restarts=[Restart.from_json(r) for r in data.get("restarts", [])],
            instances={_str(k): int(v) for k, v in data.get("instances", {}).items()},
        )


@dataclass
class PackageRun:
    """One wheel and its runs in every runtime."""

    name: str
    version: str
    wheel: str
    wheel_sha256: str
    metadata: dict[str, str] = field(default_factory=dict)
    runtimes: list[RuntimeRun] = field(default_factory=list)

    def runtime(self, runtime: str) -> RuntimeRun | None:
        """The run in *runtime*, or None."""
        for run in self.runtimes:
            if run.runtime == runtime:
                return run
        return None

    def counts(self) -> dict[str, dict[str, int]]:
        """Tests per outcome per runtime: ``{"node": {"passed": 3, ...}, ...}``."""
        return {run.runtime: run.counts() for run in self.runtimes}

    def nodeids(self) -> list[str]:
        """Every test seen in any runtime, in first-seen order."""
        seen: dict[str, None] = {}
        for run in self.runtimes:
            for test in run.tests:
                seen.setdefault(test.nodeid, None)
        return list(seen)

    def outcomes(self, nodeid: str) -> dict[str, str | None]:
        """The outcome of *nodeid* in each runtime (None where it was not reported)."""
        result: dict[str, str | None] = {}
        for run in self.runtimes:
            test = run.test(nodeid)
            result[run.runtime] = test.outcome if test else None
        return result

    def differs(self, nodeid: str) -> bool:
        """Whether *nodeid* has different outcomes (or is missing) across the runtimes."""
        return len(set(self.outcomes(nodeid).values())) > 1

    def to_json(self) -> dict[str, Any]:
        """The ``packages[]`` entry of results.json."""
        return {
            "name": self.name,
            "version": self.version,
            "wheel": self.wheel,
            "wheel_sha256": self.wheel_sha256,
            "metadata": dict(self.metadata),
            "runtimes": [run.to_json() for run in self.runtimes],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PackageRun:
        """Read a ``packages[]`` entry; raises KeyError/TypeError/ValueError when malformed."""
        return cls(
            name=_str(data["name"]),
            version=_str(data.get("version", "")),
            wheel=_str(data.get("wheel", "")),
            wheel_sha256=_str(data.get("wheel_sha256", "")),
            metadata=_str_dict(data.get("metadata", {})),
            runtimes=[RuntimeRun.from_json(run) for run in data.get("runtimes", [])],
        )


@dataclass
class Results:
    """Everything one harness session (or a merge of several) found."""

    packages: list[PackageRun] = field(default_factory=list)
    created: str = field(default_factory=_now)
    harness_version: str = __version__

    def package(self, name: str) -> PackageRun | None:
        """The package called *name*, or None."""
        for package in self.packages:
            if package.name == name:
                return package
        return None

    def runtime_names(self) -> list[str]:
        """Every runtime used by any package, in first-seen order."""
        seen: dict[str, None] = {}
        for package in self.packages:
            for run in package.runtimes:
                seen.setdefault(run.runtime, None)
        return list(seen)

    def differs(self, nodeid: str) -> bool:
        """Whether *nodeid* differs across runtimes in any package that has it."""
        return any(package.differs(nodeid) for package in self.packages)

    def to_json(self) -> dict[str, Any]:
        """The whole results.json document."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "created": self.created,
            "harness_version": self.harness_version,
            "packages": [package.to_json() for package in self.packages],
        }

    def dumps(self) -> str:
        """results.json text; ASCII-only so lone surrogates round-trip as ``\\udcxx``."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str = "results") -> Results:
        """Read a results.json document, refusing other schemas and newer versions.

        *source* names the file in error messages.
        """
        if not isinstance(data, Mapping):
            raise HarnessError(
                WRONG_SCHEMA.format(
                    path=source, found=type(data).__name__, expected=SCHEMA,
                    filename=RESULTS_FILENAME,
                )
            )
        if data.get("schema") != SCHEMA:
            raise HarnessError(
                WRONG_SCHEMA.format(
                    path=source, found=data.get("schema"), expected=SCHEMA,
                    filename=RESULTS_FILENAME,
                )
            )
        version = data.get("schema_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise HarnessError(
                MALFORMED.format(path=source, error=f"schema_version {version!r} is not an int")
            )
        if version > SCHEMA_VERSION:
            raise HarnessError(
                NEWER_SCHEMA.format(
                    path=source, found=version, supported=SCHEMA_VERSION, harness=__version__
                )
            )
        try:
            return cls(
                packages=[PackageRun.from_json(package) for package in data.get("packages", [])],
                created=_str(data.get("created", "")),
                harness_version=_str(data.get("harness_version", "")),
            )
        except KeyError as exc:
            raise HarnessError(MALFORMED.format(path=source, error=f"missing {exc}")) from exc
        except (TypeError, ValueError, AttributeError) as exc:
            raise HarnessError(MALFORMED.format(path=source, error=exc)) from exc


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {value!r}")
    return {_str(key): _str(item) for key, item in value.items()}


def read_results(path: Path) -> Results:
    """Read one results.json file (``reportdir.load_results`` also takes a report dir)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise HarnessError(NO_RESULTS_FILE.format(path=path, filename=RESULTS_FILENAME)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(MALFORMED.format(path=path, error=exc)) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(
            NOT_JSON.format(path=path, error=exc, filename=RESULTS_FILENAME)
        ) from exc
    return Results.from_json(data, source=str(path))


def save_results(results: Results, path: Path) -> Path:
    """Write results.json to *path* (a file path)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(results.dumps(), encoding="utf-8")
    return path




def xfail_reason(wasxfail: str) -> str:
    """The reason of an xfail from pytest's ``wasxfail`` (``reason: why`` for ``pytest.xfail``)."""
    return wasxfail.removeprefix("reason: ").strip()


# --- records: what happened during a run, in the order it happened -----------------------


@dataclass(frozen=True)
class PackageStarted:
    """A wheel under test (the first one names the package of the run)."""

    name: str
    version: str
    wheel: str
    sha256: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RuntimeStarted:
    package: str
    runtime: str


@dataclass(frozen=True)
class EnvironmentSeen:
    """What a runtime reported about itself (versions, JSPI, sandbox, import origins)."""

    package: str
    runtime: str
    environment: dict[str, str]


@dataclass(frozen=True)
class TestsCollected:
    """The tests a runtime selected; any never reported end up ``not-run``."""

    __test__ = False  # not a pytest test class, despite the name

    package: str
    runtime: str
    nodeids: tuple[str, ...]


@dataclass(frozen=True)
class TestStarted:
    """A runtime started a test; if nothing else of it is recorded, the run stopped in it."""

    __test__ = False  # not a pytest test class, despite the name

    package: str
    runtime: str
    nodeid: str


@dataclass(frozen=True)
class PhaseRecorded:
    """One phase report of one test (pytest's raw outcome: passed, failed, skipped).

    ``message`` comes from the report's structured data (the crash message, the skip
    reason), never from scanning the traceback text.
    """

    package: str
    runtime: str
    nodeid: str
    when: str
    outcome: str
    duration: float
    longrepr: str = ""
    sections: tuple[tuple[str, str], ...] = ()
    wasxfail: str | None = None
    message: str = ""


@dataclass(frozen=True)
class RuntimeProblem:
    """A problem of the runtime itself (a crash, a collection error with no test)."""

    package: str
    runtime: str
    text: str


@dataclass(frozen=True)
class RuntimeTimed:
    """An instance ended: its timings (``TIMINGS`` keys), wall time and tests run. The
    runtime's timings and duration are its first instance's (named like the runtime)."""

    package: str
    runtime: str
    timings: dict[str, float]
    total: float
    instance: str = ""  # "" or the runtime's name: the first instance
    ran: int = 0


@dataclass(frozen=True)
class RuntimeRestarted:
    package: str
    runtime: str
    restart: Restart


Record: TypeAlias = (
    PackageStarted
    | RuntimeStarted
    | EnvironmentSeen
    | TestsCollected
    | TestStarted
    | PhaseRecorded
    | RuntimeProblem
    | RuntimeTimed
    | RuntimeRestarted
)

#: The ``record`` tag of each record type in a journal line.
RECORD_TAGS: dict[type[Any], str] = {
    PackageStarted: "package", RuntimeStarted: "runtime", EnvironmentSeen: "environment",
    TestsCollected: "collected", TestStarted: "started", PhaseRecorded: "phase", RuntimeProblem: "problem",
    RuntimeTimed: "timed", RuntimeRestarted: "restarted",
}
_BY_TAG = {tag: kind for kind, tag in RECORD_TAGS.items()}


def record_to_json(record: Record) -> dict[str, Any]:
    """A record as a JSON object tagged with its type."""
    data: dict[str, Any] = {"record": RECORD_TAGS[type(record)]}
    for name in record.__dataclass_fields__:
        value = getattr(record, name)
        data[name] = value.to_json() if isinstance(value, Restart) else value
    return data


def record_from_json(data: Mapping[str, Any]) -> Record:
    """The record a journal line holds; KeyError/TypeError/ValueError when it is not one."""
    kind = _BY_TAG[data["record"]]
    fields = {k: v for k, v in data.items() if k != "record"}
    if kind is PhaseRecorded:
        fields["sections"] = tuple((_str(t), _str(x)) for t, x in fields.get("sections", ()))
    elif kind is TestsCollected:
        fields["nodeids"] = tuple(_str(n) for n in fields["nodeids"])
    elif kind is RuntimeRestarted:
        fields["restart"] = Restart.from_json(fields["restart"])
    record: Record = kind(**fields)
    return record


@dataclass
class _TestState:
    result: TestResult
    reported: bool = False
    started: bool = False
    phases: set[str] = field(default_factory=set)


class ResultsBuilder:
    """Folds records into ``Results``, without importing pytest.

    Phases fold into one ``TestResult`` the way pytest's junitxml folds them:

    * setup failed -> ``error`` (phase setup); call failed -> ``failed``;
    * teardown failed after anything but a failure -> ``error`` (phase teardown); after a
      failure the outcome stays and the teardown traceback is appended;
    * skipped -> ``skipped`` with its reason; skipped with *wasxfail* -> ``xfailed``;
      passed with *wasxfail* -> ``xpassed``;
    * collect failed -> ``error`` (phase collect); collect skipped -> ``skipped``.

    Durations add up over phases. Captured sections are merged by title: pytest repeats
    earlier phases' sections on later reports, so the latest text for a title wins.
    Tests announced with ``TestsCollected`` but never reported stay ``not-run``.
    """

    def __init__(self, harness_version: str = __version__) -> None:
        self._harness_version = harness_version
        self._packages: dict[str, PackageRun] = {}
        self._runtimes: dict[tuple[str, str], RuntimeRun] = {}
        self._tests: dict[tuple[str, str], dict[str, _TestState]] = {}

    def apply(self, record: Record) -> None:
        """Fold one record in; every record type is handled (the type checker says so)."""
        match record:
            case PackageStarted():
                self._package_started(record)
            case RuntimeStarted(package=package, runtime=runtime):
                self._runtime(package, runtime)
            case EnvironmentSeen(package=package, runtime=runtime, environment=environment):
                self._runtime(package, runtime).environment.update(environment)
            case TestsCollected(package=package, runtime=runtime, nodeids=nodeids):
                tests = self._tests[self._key(package, runtime)]
                for nodeid in nodeids:
                    if nodeid not in tests:
                        tests[nodeid] = _TestState(TestResult(nodeid, NOT_RUN, "call", 0.0))
            case TestStarted(package=package, runtime=runtime, nodeid=nodeid):
                tests = self._tests[self._key(package, runtime)]
                state = tests.setdefault(nodeid, _TestState(TestResult(nodeid, NOT_RUN, "call", 0.0)))
                state.started = True
            case PhaseRecorded():
                self._phase(record)
            case RuntimeProblem(package=package, runtime=runtime, text=text):
                self._runtimes[self._key(package, runtime)].errors.append(text)
            case RuntimeTimed(package=package, runtime=runtime, instance=instance):
                run = self._runtimes[self._key(package, runtime)]
                run.instances[instance or runtime] = record.ran
                if instance in ("", runtime):
                    run.timings.update(record.timings)
                    run.duration = record.total
            case RuntimeRestarted(package=package, runtime=runtime, restart=restart):
                self._runtimes[self._key(package, runtime)].restarts.append(restart)
            case _:
                assert_never(record)

    def _package_started(self, record: PackageStarted) -> None:
        existing = self._packages.get(record.name)
        if existing is None:
            self._packages[record.name] = PackageRun(
                name=record.name, version=record.version, wheel=record.wheel,
                wheel_sha256=record.sha256, metadata=dict(record.metadata),
            )
        else:
            existing.version, existing.wheel = record.version, record.wheel
            existing.wheel_sha256 = record.sha256
            existing.metadata.update(record.metadata)

    def _runtime(self, package_name: str, runtime: str) -> RuntimeRun:
        package = self._package(package_name)
        key = (package_name, runtime)
        run = self._runtimes.get(key)
        if run is None:
            run = RuntimeRun(runtime=runtime)
            self._runtimes[key] = run
            self._tests[key] = {}
            package.runtimes.append(run)
        return run

    def _phase(self, record: PhaseRecorded) -> TestResult:
        when, outcome, nodeid = record.when, record.outcome, record.nodeid
        if when not in PHASES:
            raise ValueError(BAD_PHASE.format(when=when, nodeid=nodeid, allowed=PHASES))
        if outcome not in RAW_OUTCOMES:
            raise ValueError(
                BAD_RAW_OUTCOME.format(outcome=outcome, nodeid=nodeid, allowed=RAW_OUTCOMES)
            )
        tests = self._tests[self._key(record.package, record.runtime)]
        state = tests.get(nodeid)
        if state is None:
            state = _TestState(TestResult(nodeid, NOT_RUN, when, 0.0))
            tests[nodeid] = state
        result = state.result
        first = not state.reported
        state.reported = True
        state.phases.add(when)
        result.duration += record.duration
        _merge_sections(result.sections, record.sections)
        longrepr, wasxfail = record.longrepr, record.wasxfail

        if outcome == "failed":
            if when == "teardown" and not first and result.outcome in (FAILED, ERROR):
                result.longrepr = _join(result.longrepr, longrepr)
                return result
            result.outcome = FAILED if when == "call" else ERROR
            result.phase = when
            result.longrepr = longrepr
            result.message = record.message
        elif outcome == "skipped":
            if when == "teardown" and not first:
                return result  # a skip while tearing down does not undo what already happened
            result.phase = when
            result.longrepr = longrepr
            result.outcome = XFAILED if wasxfail is not None else SKIPPED
            result.message = record.message or (xfail_reason(wasxfail) if wasxfail else "")
        elif first or result.outcome == NOT_RUN or (when == "call" and result.outcome == PASSED):
            # a passing phase only decides the outcome when nothing else has
            result.phase = when
            if wasxfail is not None:
                result.outcome = XPASSED
                result.message = record.message or xfail_reason(wasxfail)
            else:
                result.outcome = PASSED
        return result

    def build(self, created: str | None = None) -> Results:
        """A snapshot of everything folded so far (the builder stays usable)."""
        packages = []
        for package in self._packages.values():
            runtimes = []
            for run in package.runtimes:
                tests = [_snapshot(state) for state in self._tests[(package.name, run.runtime)].values()]
                duration = run.duration or sum(test.duration for test in tests)
                runtimes.append(
                    RuntimeRun(
                        run.runtime, dict(run.environment), tests, list(run.errors), duration,
                        dict(run.timings), list(run.restarts), dict(run.instances),
                    )
                )
                causes.fill_run(runtimes[-1])
            packages.append(
                PackageRun(
                    package.name, package.version, package.wheel, package.wheel_sha256,
                    dict(package.metadata), runtimes,
                )
            )
        return Results(packages, created or _now(), self._harness_version)

    def _package(self, name: str) -> PackageRun:
        try:
            return self._packages[name]
        except KeyError:
            raise ValueError(UNKNOWN_PACKAGE.format(name=name)) from None

    def _key(self, package_name: str, runtime: str) -> tuple[str, str]:
        self._package(package_name)
        key = (package_name, runtime)
        if key not in self._runtimes:
            raise ValueError(UNKNOWN_RUNTIME.format(package=package_name, runtime=runtime))
        return key


INTERRUPTED = "interrupted: the run stopped while this test ran"


def _snapshot(state: _TestState) -> TestResult:
    """A copy of the result; a passing test whose teardown never came was cut off."""
    r = state.result
    outcome, message = r.outcome, r.message
    if outcome == PASSED and state.phases and not state.phases & {"teardown", "collect"}:
        outcome, message = NOT_RUN, INTERRUPTED
    elif outcome == NOT_RUN and state.started and not state.reported:
        message = INTERRUPTED
    return TestResult(r.nodeid, outcome, r.phase, r.duration, r.longrepr, list(r.sections), message)


def _merge_sections(into: list[tuple[str, str]], new: Sequence[tuple[str, str]]) -> None:
    for title, text in new:
        for index, (existing, _) in enumerate(into):
            if existing == title:
                into[index] = (title, text)
                break
        else:
            into.append((title, text))


def _join(first: str, second: str) -> str:
    return f"{first}\n\n{second}" if first and second else first or second


def merge_results(inputs: Sequence[tuple[str, Results]]) -> tuple[Results, list[str]]:
    """Combine shards or several wheels' results into one, with notes on what was decided.

    *inputs* pairs each ``Results`` with the name of its source for the notes. Packages
    match by name (refused when the wheels differ), runtimes by name; tests are the union,
    and a test in two shards keeps the worse outcome (``SEVERITY``) with a note saying so.
    Environments merge (first value wins, conflicts noted), errors are concatenated and
    durations added, since shards each spend their own time.
    """
    merged = Results(packages=[], created=_now(), harness_version=__version__)
    notes: list[str] = []
    package_source: dict[str, str] = {}
    # (package, runtime) -> nodeid -> (position in the merged tests, source it was kept from)
    indexes: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}
    env_source: dict[tuple[str, str, str], str] = {}
    for source, results in inputs:
        for package in results.packages:
            target = merged.package(package.name)
            if target is None:
                target = PackageRun(
                    package.name, package.version, package.wheel, package.wheel_sha256,
                    dict(package.metadata), [],
                )
                merged.packages.append(target)
                package_source[package.name] = source
            elif target.wheel_sha256 != package.wheel_sha256:
                raise HarnessError(
                    DIFFERENT_WHEELS.format(
                        name=package.name, wheel_a=target.wheel, sha_a=target.wheel_sha256,
                        source_a=package_source[package.name], wheel_b=package.wheel,
                        sha_b=package.wheel_sha256, source_b=source,
                    )
                )
            else:
                for key, value in package.metadata.items():
                    target.metadata.setdefault(key, value)
            for run in package.runtimes:
                target_run = target.runtime(run.runtime)
                if target_run is None:
                    target_run = RuntimeRun(run.runtime)
                    target.runtimes.append(target_run)
                index = indexes.setdefault((package.name, run.runtime), {})
                for key, value in run.environment.items():
                    env_key = (package.name, run.runtime, key)
                    if key not in target_run.environment:
                        target_run.environment[key] = value
                        env_source[env_key] = source
                    elif target_run.environment[key] != value:
                        notes.append(
                            ENVIRONMENT_CONFLICT.format(
                                package=package.name, runtime=run.runtime, key=key,
                                value_a=target_run.environment[key],
                                source_a=env_source[env_key], value_b=value, source_b=source,
                            )
                        )
                target_run.errors.extend(e for e in run.errors if e not in target_run.errors)
                target_run.duration += run.duration
                target_run.restarts.extend(run.restarts)
                for instance, ran in run.instances.items():
                    target_run.instances[instance] = target_run.instances.get(instance, 0) + ran
                for phase, seconds in run.timings.items():  # shards: each phase's longest
                    target_run.timings[phase] = max(seconds, target_run.timings.get(phase, 0.0))
                for test in run.tests:
                    copy = TestResult(
                        test.nodeid, test.outcome, test.phase, test.duration, test.longrepr,
                        list(test.sections), test.message, test.cause,
                    )
                    if test.nodeid not in index:
                        index[test.nodeid] = (len(target_run.tests), source)
                        target_run.tests.append(copy)
                        continue
                    position, kept_from = index[test.nodeid]
                    existing = target_run.tests[position]
                    worse = SEVERITY.get(test.outcome, 0) > SEVERITY.get(existing.outcome, 0)
                    notes.append(
                        DUPLICATE_TEST.format(
                            nodeid=test.nodeid, package=package.name, runtime=run.runtime,
                            source_a=kept_from, outcome_a=existing.outcome, source_b=source,
                            outcome_b=test.outcome,
                            kept=test.outcome if worse else existing.outcome,
                        )
                    )
                    if worse:
                        target_run.tests[position] = copy
                        index[test.nodeid] = (position, source)
    return merged, notes
