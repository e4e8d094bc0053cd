"""The results model: JSON round trip, schema checks, phase folding, summaries, merging.

``make_results`` builds the hand-made sample the report and CLI tests share.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyodide_harness import __version__
from pyodide_harness.errors import EXIT_USAGEERROR, HarnessError
from pyodide_harness.journal import Journal, read_journal, replay_journal
from pyodide_harness.reportdir import load_results
from pyodide_harness.results import (
    DIFFERENT_WHEELS,
    INTERRUPTED,
    NEWER_SCHEMA,
    NO_RESULTS_FILE,
    OUTCOMES,
    RECORD_TAGS,
    SCHEMA,
    SCHEMA_VERSION,
    WRONG_SCHEMA,
    EnvironmentSeen,
    PackageRun,
    PackageStarted,
    PhaseRecorded,
    Record,
    Restart,
    Results,
    ResultsBuilder,
    RuntimeProblem,
    RuntimeRestarted,
    RuntimeRun,
    RuntimeStarted,
    RuntimeTimed,
    TestResult,
    TestsCollected,
    TestStarted,
    merge_results,
    save_results,
)

RUNTIMES = ("node", "chromium", "firefox")
SCRIPT_NODEID = "test/test_evil.py::test_name[<script>alert(1)</script>]"
UNDECODABLE = b"bad bytes \xff\xfe end".decode("utf-8", "surrogateescape")
CONTROL = "nul\x00 bell\x07 backspace\x08 vt\x0b ff\x0c \x1b[31mred\x1b[0m"
TRACEBACK = """\
    def test_unpack(value):
>       assert unpack(pack(value)) == value + 1
E       AssertionError: assert 1 == 2
E        +  where 2 = <lambda>(1)

test/test_basic.py:12: AssertionError"""


def _env(runtime: str) -> dict[str, str]:
    versions = {"node": "Node v24.19.0", "chromium": "Chromium 140.0", "firefox": "Firefox 140.3"}
    return {
        "runtime_version": versions.get(runtime, runtime),
        "pyodide_version": "314.0.7",
        "python_version": "3.14.2",
        "jspi": "true" if runtime != "firefox" else "false",
        "pytest_version": "9.0.3",
        "wheel": "msgpack-1.2.4-cp314-cp314-pyodide_2025_0_wasm32.whl",
        "imported_from": "/lib/python3.14/site-packages/msgpack/__init__.py",
    }


def _msgpack_tests(runtime: str) -> list[TestResult]:
    def passed(nodeid: str, duration: float = 0.01) -> TestResult:
        return TestResult(nodeid, "passed", "call", duration)

    tests = [
        passed("test/test_basic.py::test_pack", 0.02),
        passed("test/test_basic.py::test_unpack[1]"),
        TestResult(
            "test/test_basic.py::TestSkip::test_skip", "skipped", "setup", 0.0,
            "('test/test_basic.py', 20, 'Skipped: needs threads')", [], "needs threads",
        ),
        TestResult("test/test_xfail.py::test_xfail", "xfailed", "call", 0.003,
                   TRACEBACK, [], "known bug"),
        passed("test/test_xfail.py::test_xpass"),
        passed("test/test_fixture.py::test_setup_error"),
        passed(SCRIPT_NODEID),
        passed("test/test_crash.py::test_after_crash"),
    ]
    if runtime == "chromium":
        tests[1] = TestResult(
            "test/test_basic.py::test_unpack[1]", "failed", "call", 0.5, TRACEBACK,
            [
                ("Captured stdout call", f"printed {CONTROL}\n{UNDECODABLE}\n"),
                ("Captured stderr call", "warning: \x1b[33mcareful\x1b[0m\n"),
            ],
            "AssertionError: assert 1 == 2",
        )
        tests[7] = TestResult("test/test_crash.py::test_after_crash", "not-run", "call", 0.0)
    if runtime == "node":
        tests[4] = TestResult("test/test_xfail.py::test_xpass", "xpassed", "call", 0.01,
                              "", [], "should fail")
        tests[6] = TestResult(
            SCRIPT_NODEID, "failed", "call", 0.2,
            "E   ValueError: <script>alert(2)</script>", [("Captured log call", "<b>bold</b>")],
            "ValueError: <script>alert(2)</script>",
        )
    if runtime == "firefox":
        tests[5] = TestResult(
            "test/test_fixture.py::test_setup_error", "error", "setup", 0.1,
            "E   RuntimeError: fixture broke", [], "RuntimeError: fixture broke",
        )
    return tests


def make_results() -> Results:
    """Two packages in three runtimes with every outcome and hostile text."""
    msgpack = PackageRun(
        name="msgpack",
        version="1.2.4",
        wheel="msgpack-1.2.4-cp314-cp314-pyodide_2025_0_wasm32.whl",
        wheel_sha256="a" * 64,
        metadata={"Summary": "MessagePack <serializer>", "Requires-Python": ">=3.10"},
        runtimes=[
            RuntimeRun(
                runtime,
                _env(runtime),
                _msgpack_tests(runtime),
                ["Aborted(RuntimeError: unreachable)\n    at wasm://x"] if runtime == "chromium"
                else [],
                1.5,
            )
            for runtime in RUNTIMES
        ],
    )
    tiny_tests = ["tests/test_tiny.py::test_one", "tests/test_tiny.py::test_two",
                  "tests/test_tiny.py::test_three"]
    tiny = PackageRun(
        name="tinypkg",
        version="0.1",
        wheel="tinypkg-0.1-py3-none-any.whl",
        wheel_sha256="b" * 64,
        metadata={"Summary": "tiny"},
        runtimes=[
            RuntimeRun(
                runtime,
                {**_env(runtime), "wheel": "tinypkg-0.1-py3-none-any.whl"},
                [TestResult(nodeid, "passed", "call", 0.001) for nodeid in tiny_tests
                 if not (runtime == "firefox" and nodeid.endswith("three"))],
                [],
                0.25,
            )
            for runtime in RUNTIMES
        ],
    )
    return Results([msgpack, tiny], "2025-01-31T12:00:00+00:00", "0.1.0")


# --- JSON ------------------------------------------------------------------------------


def test_json_round_trip_keeps_everything(tmp_path: Path) -> None:
    results = make_results()
    path = save_results(results, tmp_path / "results.json")
    assert load_results(path) == results
    assert load_results(tmp_path) == results  # a report directory works too


def test_json_top_level_and_ascii_only(tmp_path: Path) -> None:
    text = make_results().dumps()
    text.encode("ascii")  # lone surrogates are written as \udcxx escapes
    data = json.loads(text)
    assert data["schema"] == SCHEMA
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["created"] == "2025-01-31T12:00:00+00:00"
    assert data["harness_version"] == "0.1.0"
    assert [package["name"] for package in data["packages"]] == ["msgpack", "tinypkg"]
    test = data["packages"][0]["runtimes"][1]["tests"][1]
    assert set(test) == {"nodeid", "outcome", "phase", "duration", "longrepr", "sections",
                         "message"}
    assert test["sections"][0][0] == "Captured stdout call"


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_newer_schema_refused(tmp_path: Path) -> None:
    data = make_results().to_json()
    data["schema_version"] = SCHEMA_VERSION + 1
    path = _write(tmp_path, data)
    with pytest.raises(HarnessError) as info:
        load_results(path)
    assert str(info.value) == NEWER_SCHEMA.format(
        path=path, found=SCHEMA_VERSION + 1, supported=SCHEMA_VERSION, harness=__version__
    )
    assert info.value.exit_code == EXIT_USAGEERROR
    assert "upgrade pytest-pyodide-harness" in str(info.value)


def test_other_schema_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"schema": "something-else", "schema_version": 1})
    with pytest.raises(HarnessError, match="not a pyodide-harness results file") as info:
        load_results(path)
    assert str(info.value) == WRONG_SCHEMA.format(
        path=path, found="something-else", expected=SCHEMA, filename="results.json"
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "pyodide-harness-results", "schema_version": "1"}', "is not an int"),
        ('{"schema": "pyodide-harness-results", "schema_version": 1, "packages": [{}]}',
         "missing 'name'"),
        ('{"schema": "pyodide-harness-results", "schema_version": 1, '
         '"packages": [{"name": 3}]}', "expected a string"),
        ("[]", "not a pyodide-harness results file"),
    ],
)
def test_malformed_files_name_the_file(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(HarnessError, match=match) as info:
        load_results(path)
    assert str(path) in str(info.value)


def test_missing_results_file(tmp_path: Path) -> None:
    with pytest.raises(HarnessError) as info:
        load_results(tmp_path)
    assert str(info.value) == NO_RESULTS_FILE.format(path=tmp_path, filename="results.json")


# --- summaries -------------------------------------------------------------------------


def test_counts_per_outcome_per_runtime() -> None:
    msgpack = make_results().packages[0]
    counts = msgpack.counts()
    assert list(counts) == list(RUNTIMES)
    assert set(counts["node"]) == set(OUTCOMES)
    assert counts["node"] == {"passed": 4, "failed": 1, "error": 0, "not-run": 0,
                              "xpassed": 1, "xfailed": 1, "skipped": 1}
    assert counts["chromium"]["failed"] == 1 and counts["chromium"]["not-run"] == 1
    assert counts["firefox"]["error"] == 1


def test_differs_and_passing() -> None:
    results = make_results()
    msgpack, tiny = results.packages
    assert msgpack.differs("test/test_basic.py::test_unpack[1]")
    assert not msgpack.differs("test/test_basic.py::test_pack")
    assert not msgpack.differs("test/test_xfail.py::test_xfail")
    assert tiny.differs("tests/test_tiny.py::test_three")  # missing in firefox
    assert tiny.outcomes("tests/test_tiny.py::test_three")["firefox"] is None
    assert results.differs("test/test_basic.py::test_unpack[1]")
    assert [run.passing for run in msgpack.runtimes] == [False, False, False]
    assert [run.passing for run in tiny.runtimes] == [True, True, True]
    assert not RuntimeRun("node").passing  # no tests is not a pass


# --- builder ---------------------------------------------------------------------------

Phase = tuple[str, str, str, str]  # when, outcome, longrepr, message (from the report's data)


def _fold(records: list[Record], builder: ResultsBuilder | None = None) -> Results:
    builder = builder or ResultsBuilder()
    for record in records:
        builder.apply(record)
    return builder.build(created="2025-01-01T00:00:00+00:00")


START: list[Record] = [PackageStarted("pkg", "1.0", "pkg-1.0-py3-none-any.whl", "c" * 64,
                                      {"Summary": "s"}),
                       RuntimeStarted("pkg", "node")]


def _phase(nodeid: str, when: str, outcome: str, longrepr: str = "", message: str = "",
           *, runtime: str = "node", duration: float = 0.0,
           sections: tuple[tuple[str, str], ...] = (), wasxfail: str | None = None) -> PhaseRecorded:
    return PhaseRecorded("pkg", runtime, nodeid, when, outcome, duration, longrepr, sections,
                         wasxfail, message)


@pytest.mark.parametrize(
    ("phases", "wasxfail", "outcome", "phase", "message"),
    [
        ([("setup", "passed", "", ""), ("call", "passed", "", ""), ("teardown", "passed", "", "")],
         None, "passed", "call", ""),
        ([("setup", "failed", "E   OSError: no fixture", "OSError: no fixture"),
          ("teardown", "passed", "", "")], None, "error", "setup", "OSError: no fixture"),
        ([("setup", "passed", "", ""),
          ("call", "failed", "x\nE   AssertionError: boom\nE  more", "AssertionError: boom"),
          ("teardown", "passed", "", "")], None, "failed", "call", "AssertionError: boom"),
        ([("setup", "passed", "", ""), ("call", "passed", "", ""),
          ("teardown", "failed", "E   RuntimeError: cleanup", "RuntimeError: cleanup")],
         None, "error", "teardown", "RuntimeError: cleanup"),
        ([("setup", "skipped", "('t.py', 3, 'Skipped: no threads')", "no threads"),
          ("teardown", "passed", "", "")], None, "skipped", "setup", "no threads"),
        ([("setup", "passed", "", ""), ("call", "skipped", "Skipped: later", "later"),
          ("teardown", "passed", "", "")], None, "skipped", "call", "later"),
        ([("setup", "passed", "", ""), ("call", "skipped", "E   AssertionError", ""),
          ("teardown", "passed", "", "")], "reason: known bug", "xfailed", "call", "known bug"),
        ([("setup", "passed", "", ""), ("call", "passed", "", ""),
          ("teardown", "passed", "", "")], "flaky", "xpassed", "call", "flaky"),
        ([("collect", "failed", "ImportError: no module named x", "ImportError: no module named x")],
         None, "error", "collect", "ImportError: no module named x"),
        ([("collect", "skipped", "Skipped: not on wasm", "not on wasm")], None, "skipped",
         "collect", "not on wasm"),
    ],
)
def test_builder_folds_phases_like_junitxml(
    phases: list[Phase], wasxfail: str | None, outcome: str, phase: str, message: str
) -> None:
    records: list[Record] = [*START]
    for when, raw, longrepr, msg in phases:
        records.append(_phase("t.py::test", when, raw, longrepr, msg, duration=0.5,
                              wasxfail=wasxfail if when == "call" else None))
    (test,) = _fold(records).packages[0].runtimes[0].tests
    assert (test.outcome, test.phase, test.message) == (outcome, phase, message)
    assert test.duration == 0.5 * len(phases)


def test_builder_teardown_failure_after_failure_keeps_failed_and_both_tracebacks() -> None:
    results = _fold([*START, _phase("t.py::a", "setup", "passed"),
                     _phase("t.py::a", "call", "failed", "E   A: call", "A: call"),
                     _phase("t.py::a", "teardown", "failed", "E   B: down", "B: down")])
    (test,) = results.packages[0].runtimes[0].tests
    assert test.outcome == "failed" and test.phase == "call"
    assert "A: call" in test.longrepr and "B: down" in test.longrepr
    assert test.message == "A: call"


def test_builder_sections_durations_errors_timings_restarts_and_not_run() -> None:
    setup = (("Captured stdout setup", "s\n"),)
    call = (*setup, ("Captured stdout call", "c\n"))
    restart = Restart("chromium", "chromium crashed", "t.py::b", 1)
    builder = ResultsBuilder(harness_version="9.9")
    records: list[Record] = [
        START[0], RuntimeStarted("pkg", "chromium"),
        EnvironmentSeen("pkg", "chromium", {"jspi": "true"}),
        EnvironmentSeen("pkg", "chromium", {"runtime_version": "Chromium 140"}),
        TestsCollected("pkg", "chromium", ("t.py::a", "t.py::b")),
        _phase("t.py::a", "setup", "passed", runtime="chromium", duration=0.25, sections=setup),
        _phase("t.py::a", "call", "passed", runtime="chromium", duration=0.5, sections=call),
        _phase("t.py::a", "teardown", "passed", runtime="chromium", duration=0.25,
               sections=(*call, ("Captured stdout teardown", "t\n"))),
        RuntimeProblem("pkg", "chromium", "worker crashed while running 't.py::b'"),
        RuntimeRestarted("pkg", "chromium", restart),
    ]
    results = _fold(records, builder)
    run = results.packages[0].runtimes[0]
    first, second = run.tests
    assert first.sections == [("Captured stdout setup", "s\n"), ("Captured stdout call", "c\n"),
                              ("Captured stdout teardown", "t\n")]
    assert first.duration == 1.0
    assert second.outcome == "not-run"
    assert run.errors == ["worker crashed while running 't.py::b'"]
    assert run.restarts == [restart]
    assert run.environment == {"jspi": "true", "runtime_version": "Chromium 140"}
    assert run.duration == 1.0  # summed test durations without RuntimeTimed
    assert results.harness_version == "9.9" and results.created == "2025-01-01T00:00:00+00:00"
    builder.apply(RuntimeTimed("pkg", "chromium", {"boot": 2.0, "run": 4.0}, 7.0))
    run = builder.build().packages[0].runtimes[0]
    assert (run.duration, run.timings) == (7.0, {"boot": 2.0, "run": 4.0})


def test_builder_refuses_unknown_names_and_phases() -> None:
    builder = ResultsBuilder()
    with pytest.raises(ValueError, match="before its PackageStarted"):
        builder.apply(RuntimeStarted("nope", "node"))
    builder.apply(START[0])
    with pytest.raises(ValueError, match="before its RuntimeStarted"):
        builder.apply(_phase("t.py::a", "call", "passed"))
    builder.apply(START[1])
    with pytest.raises(ValueError, match="phase 'run'"):
        builder.apply(_phase("t.py::a", "run", "passed"))
    with pytest.raises(ValueError, match="outcome 'xfailed'"):
        builder.apply(_phase("t.py::a", "call", "xfailed"))


def test_every_record_type_round_trips_through_the_journal(tmp_path: Path) -> None:
    """The journal holds records, and replaying them is the same fold as the live run."""
    records: list[Record] = [
        *START, EnvironmentSeen("pkg", "node", {"jspi": "true"}),
        TestsCollected("pkg", "node", ("t.py::a", "t.py::b")),
        TestStarted("pkg", "node", "t.py::a"),
        _phase("t.py::a", "call", "failed", "E   x\udce9", "x", sections=(("out", "\udce9"),)),
        TestStarted("pkg", "node", "t.py::b"),
        RuntimeProblem("pkg", "node", "boom"),
        RuntimeTimed("pkg", "node", {"boot": 1.5}, 3.0),
        RuntimeRestarted("pkg", "node", Restart("node", "died", None, 0)),
    ]
    assert {type(r) for r in records} == set(RECORD_TAGS)  # every type, so none is missed
    journal = Journal(tmp_path / "journal.jsonl")
    live = ResultsBuilder()
    for record in records:
        journal.write(record)
        live.apply(record)
    journal.close()
    with open(tmp_path / "journal.jsonl", "a", encoding="utf-8") as f:
        f.write('{"record": "phase", "package": "pkg", "runt')  # cut short by a dying run
    assert list(read_journal(tmp_path / "journal.jsonl")) == records
    replayed = replay_journal(tmp_path / "journal.jsonl")
    assert replayed.packages == live.build().packages
    last = replayed.packages[0].runtimes[0].tests[1]
    assert (last.outcome, last.message) == ("not-run", INTERRUPTED)  # the run stopped in it
    assert load_results(tmp_path).packages == live.build().packages  # no results.json yet


# --- merging ---------------------------------------------------------------------------


def _split(results: Results, keep: slice) -> Results:
    data = results.to_json()
    for package in data["packages"]:
        for run in package["runtimes"]:
            run["tests"] = run["tests"][keep]
    return Results.from_json(data)


def test_merge_of_shards_is_the_union() -> None:
    full = make_results()
    merged, notes = merge_results([("a.json", _split(full, slice(0, 4))),
                                   ("b.json", _split(full, slice(4, None)))])
    assert notes == []
    for package, expected in zip(merged.packages, full.packages, strict=True):
        assert package.nodeids() == expected.nodeids()
        for run, expected_run in zip(package.runtimes, expected.runtimes, strict=True):
            assert run.tests == expected_run.tests
            assert run.duration == expected_run.duration * 2  # both shards' time
            assert run.environment == expected_run.environment
            assert run.errors == expected_run.errors


def test_merge_keeps_the_worse_outcome_and_says_so() -> None:
    first = make_results()
    second = make_results()
    second.packages[0].runtimes[0].tests[0].outcome = "failed"  # node test_pack
    merged, notes = merge_results([("a.json", first), ("b.json", second)])
    assert merged.packages[0].runtimes[0].tests[0].outcome == "failed"
    assert len(notes) == sum(len(run.tests) for p in first.packages for run in p.runtimes)
    note = next(note for note in notes if "test_pack (msgpack, node)" in note)
    assert note == ("test/test_basic.py::test_pack (msgpack, node) is in a.json as passed "
                    "and in b.json as failed; kept failed")


def test_merge_refuses_different_wheels_of_one_package() -> None:
    other = make_results()
    other.packages[0].wheel_sha256 = "f" * 64
    with pytest.raises(HarnessError) as info:
        merge_results([("a.json", make_results()), ("b.json", other)])
    assert str(info.value) == DIFFERENT_WHEELS.format(
        name="msgpack", wheel_a=other.packages[0].wheel, sha_a="a" * 64, source_a="a.json",
        wheel_b=other.packages[0].wheel, sha_b="f" * 64, source_b="b.json",
    )


def test_merge_notes_environment_conflicts() -> None:
    first, second = make_results(), make_results()
    for package in second.packages:
        for run in package.runtimes:
            run.tests = []
    second.packages[1].runtimes[0].environment["runtime_version"] = "Node v22"
    merged, notes = merge_results([("a.json", first), ("b.json", second)])
    assert notes == ["tinypkg/node: runtime_version is 'Node v24.19.0' in a.json but "
                     "'Node v22' in b.json; kept 'Node v24.19.0'"]
    assert merged.packages[1].runtimes[0].environment["runtime_version"] == "Node v24.19.0"
