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
              "tests": [
                {
                  "nodeid": "test/test_x.py::test_y[1]",
                  "outcome": "passed",   # passed failed skipped xfailed xpassed error not-run
                  "phase": "call",       # setup call teardown collect
                  "duration": 0.01,      # seconds, summed over phases
                  "longrepr": "",        # traceback text or skip reason
                  "sections": [["Captured stdout call", "..."]],
                  "message": ""          # one line: reason or exception line
                }
              ]
            }
          ]
        }
      ]
    }

Readers accept any ``schema_version`` up to ``SCHEMA_VERSION`` and refuse newer
ones, since a newer writer may have changed a field's meaning. Strings are
written with JSON ``\\u`` escapes, so text with lone surrogates (undecodable
bytes read with ``surrogateescape``) survives the round trip unchanged.
See also ``docs/results-schema.md``.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyodide_harness import __version__
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
UNKNOWN_PACKAGE = (
    "results for package {name!r} reported before builder.package({name!r}, ...) was called"
)
UNKNOWN_RUNTIME = (
    "results for {package!r} in runtime {runtime!r} reported before "
    "builder.runtime({package!r}, {runtime!r}, ...) was called"
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

    def to_json(self) -> dict[str, Any]:
        """The ``tests[]`` entry of results.json."""
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "phase": self.phase,
            "duration": self.duration,
            "longrepr": self.longrepr,
            "sections": [[title, text] for title, text in self.sections],
            "message": self.message,
        }

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
        )


@dataclass
class RuntimeRun:
    """The suite of one wheel run in one runtime."""

    runtime: str
    environment: dict[str, str] = field(default_factory=dict)
    tests: list[TestResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0

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


def results_path(path_or_dir: str | Path) -> Path:
    """The results.json meant by *path_or_dir* (the file itself, or inside a report dir)."""
    path = Path(path_or_dir)
    return path / RESULTS_FILENAME if path.is_dir() else path


def load_results(path_or_dir: str | Path) -> Results:
    """Read a results.json, given as the file or the report directory holding it."""
    path = results_path(path_or_dir)
    journal = path.parent / "journal.jsonl"
    if not path.exists() and journal.exists():  # the run died before writing its reports
        from .recorder import replay_journal

        return replay_journal(journal)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise HarnessError(
            NO_RESULTS_FILE.format(path=path_or_dir, filename=RESULTS_FILENAME)
        ) from exc
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


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return line.strip()
    return ""


def exception_line(longrepr: str) -> str:
    """The exception line of a pytest traceback: the first ``E   `` line, else the last line."""
    for line in longrepr.splitlines():
        if line.startswith("E   "):
            return line[4:].strip()
    return _last_line(longrepr)


def skip_reason(longrepr: str) -> str:
    """The reason of a skip, from its longrepr text (``Skipped: why`` or a location tuple)."""
    line = _last_line(longrepr)
    # pytest's skip longrepr is a (path, lineno, "Skipped: why") tuple; plugins often str() it.
    if line.startswith("(") and line.endswith(")"):
        inner = line[1:-1]
        parts = inner.split(", ", 2)
        if len(parts) == 3:
            line = parts[2].strip().strip("'\"")
    return line.removeprefix("Skipped: ")


def xfail_reason(wasxfail: str) -> str:
    """The reason of an xfail from pytest's ``wasxfail`` (``reason: why`` for ``pytest.xfail``)."""
    return wasxfail.removeprefix("reason: ").strip()


@dataclass
class _TestState:
    result: TestResult
    reported: bool = False
    phases: set[str] = field(default_factory=set)


class ResultsBuilder:
    """Builds ``Results`` from pytest's per-phase reports, without importing pytest.

    The plugin calls ``package`` once per wheel and ``runtime`` once per runtime, then
    ``add_phase`` for every setup/call/teardown (or collect) report the runtime streams.
    Phases fold into one ``TestResult`` the way pytest's junitxml folds them:

    * setup failed -> ``error`` (phase setup); call failed -> ``failed``;
    * teardown failed after anything but a failure -> ``error`` (phase teardown); after a
      failure the outcome stays and the teardown traceback is appended;
    * skipped -> ``skipped`` with its reason; skipped with *wasxfail* -> ``xfailed``;
      passed with *wasxfail* -> ``xpassed``;
    * collect failed -> ``error`` (phase collect); collect skipped -> ``skipped``.

    Durations add up over phases. Captured sections are merged by title: pytest repeats
    earlier phases' sections on later reports, so the latest text for a title wins.
    Tests announced with ``collected`` but never reported stay ``not-run``.
    """

    def __init__(self, harness_version: str = __version__) -> None:
        self._harness_version = harness_version
        self._packages: dict[str, PackageRun] = {}
        self._runtimes: dict[tuple[str, str], RuntimeRun] = {}
        self._durations: dict[tuple[str, str], float] = {}
        self._tests: dict[tuple[str, str], dict[str, _TestState]] = {}

    def package(
        self,
        name: str,
        version: str,
        wheel: str,
        sha256: str,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Start (or update) the record for one wheel."""
        existing = self._packages.get(name)
        if existing is None:
            self._packages[name] = PackageRun(
                name=name, version=version, wheel=wheel, wheel_sha256=sha256,
                metadata=dict(metadata or {}),
            )
        else:
            existing.version, existing.wheel, existing.wheel_sha256 = version, wheel, sha256
            existing.metadata.update(metadata or {})

    def runtime(
        self, package_name: str, runtime: str, environment: Mapping[str, str] | None = None
    ) -> None:
        """Start (or update the environment of) *package_name*'s run in *runtime*."""
        package = self._package(package_name)
        key = (package_name, runtime)
        run = self._runtimes.get(key)
        if run is None:
            run = RuntimeRun(runtime=runtime)
            self._runtimes[key] = run
            self._tests[key] = {}
            package.runtimes.append(run)
        run.environment.update(environment or {})

    def collected(self, package_name: str, runtime: str, nodeids: Iterable[str]) -> None:
        """Announce tests the runtime collected; any never reported end up ``not-run``."""
        tests = self._tests[self._runtime_key(package_name, runtime)]
        for nodeid in nodeids:
            if nodeid not in tests:
                tests[nodeid] = _TestState(TestResult(nodeid, NOT_RUN, "call", 0.0))

    def add_phase(
        self,
        package_name: str,
        runtime: str,
        nodeid: str,
        when: str,
        outcome: str,
        duration: float,
        longrepr: str,
        sections: Sequence[tuple[str, str]],
        wasxfail: str | None = None,
        *,
        message: str | None = None,
    ) -> TestResult:
        """Fold one pytest phase report into the test's result and return the result so far.

        *outcome* is pytest's raw report outcome (passed, failed, skipped); *message*, when
        given (e.g. pytest's ``reprcrash.message``), replaces the line taken from *longrepr*.
        """
        if when not in PHASES:
            raise ValueError(BAD_PHASE.format(when=when, nodeid=nodeid, allowed=PHASES))
        if outcome not in RAW_OUTCOMES:
            raise ValueError(
                BAD_RAW_OUTCOME.format(outcome=outcome, nodeid=nodeid, allowed=RAW_OUTCOMES)
            )
        tests = self._tests[self._runtime_key(package_name, runtime)]
        state = tests.get(nodeid)
        if state is None:
            state = _TestState(TestResult(nodeid, NOT_RUN, when, 0.0))
            tests[nodeid] = state
        result = state.result
        first = not state.reported
        state.reported = True
        state.phases.add(when)
        result.duration += duration
        _merge_sections(result.sections, sections)

        if outcome == "failed":
            if when == "teardown" and not first and result.outcome in (FAILED, ERROR):
                result.longrepr = _join(result.longrepr, longrepr)
                return result
            result.outcome = FAILED if when == "call" else ERROR
            result.phase = when
            result.longrepr = longrepr
            result.message = message if message is not None else exception_line(longrepr)
        elif outcome == "skipped":
            if when == "teardown" and not first:
                return result  # a skip while tearing down does not undo what already happened
            result.phase = when
            result.longrepr = longrepr
            if wasxfail is not None:
                result.outcome = XFAILED
                result.message = message if message is not None else xfail_reason(wasxfail)
            else:
                result.outcome = SKIPPED
                result.message = message if message is not None else skip_reason(longrepr)
        elif first or result.outcome == NOT_RUN or (when == "call" and result.outcome == PASSED):
            # a passing phase only decides the outcome when nothing else has
            result.phase = when
            if wasxfail is not None:
                result.outcome = XPASSED
                result.message = message if message is not None else xfail_reason(wasxfail)
            else:
                result.outcome = PASSED
        return result

    def runtime_error(self, package_name: str, runtime: str, text: str) -> None:
        """Record a problem of the runtime itself (a crash, a collection error with no test)."""
        self._runtimes[self._runtime_key(package_name, runtime)].errors.append(text)

    def runtime_duration(self, package_name: str, runtime: str, seconds: float) -> None:
        """Record the runtime's wall time; without it the test durations are summed."""
        self._durations[self._runtime_key(package_name, runtime)] = seconds

    def build(self, created: str | None = None) -> Results:
        """A snapshot of everything fed so far (the builder stays usable)."""
        packages = []
        for package in self._packages.values():
            runtimes = []
            for run in package.runtimes:
                key = (package.name, run.runtime)
                tests = [_snapshot(state) for state in self._tests[key].values()]
                duration = self._durations.get(key, sum(test.duration for test in tests))
                runtimes.append(
                    RuntimeRun(
                        run.runtime, dict(run.environment), tests, list(run.errors), duration
                    )
                )
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

    def _runtime_key(self, package_name: str, runtime: str) -> tuple[str, str]:
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
                for test in run.tests:
                    copy = TestResult(
                        test.nodeid, test.outcome, test.phase, test.duration, test.longrepr,
                        list(test.sections), test.message,
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
