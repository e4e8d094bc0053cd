"""The host/runtime protocol: ``decode`` of every event type, its errors, and exhaustiveness.

``SAMPLES`` holds one realistic message per event a runtime sends (shaped like
what the inner plugin and the JS bootstrap write); ``test_every_event_has_a_decoder``
fails when an event type joins the ``Event`` union without a decode case here.
``test_round_trip_of_the_inner_plugin`` feeds ``decode`` what the real inner
plugin emits on CPython, serialized the way ``main()`` does in the runtime.
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pyodide_harness
from pyodide_harness import protocol
from pyodide_harness.protocol import ProtocolError, decode

INNER_PATH = Path(pyodide_harness.__file__).parent / "inner" / "pyodide_harness_inner.py"

# Made by the host (a runner or the controller), never sent by a runtime, so
# deliberately without a decode case.
HOST_ONLY: set[type[Any]] = {protocol.Crashed}

NODEID = "tests/test_basic.py::test_pack[1]"
REPORT: dict[str, Any] = {
    "nodeid": NODEID,
    "location": ["tests/test_basic.py", 11, "test_pack[1]"],
    "keywords": {"test_pack[1]": 1, "parametrize": 1, "pytestmark": 1, "test_basic.py": 1},
    "outcome": "failed",
    "longrepr": {
        "reprcrash": {"path": "/home/pyodide/project/tests/test_basic.py", "lineno": 13,
                      "message": "AssertionError: assert 1 == 2"},
        "reprtraceback": {"reprentries": [], "extraline": None, "style": "long"},
        "sections": [],
        "chain": [],
    },
    "when": "call",
    "user_properties": [],
    "sections": [["Captured stdout call", "packing 1\n"]],
    "duration": 0.0123,
    "start": 1767225600.5,
    "stop": 1767225600.51,
    "$report_type": "TestReport",
}
COLLECT_REPORT: dict[str, Any] = {
    "nodeid": "tests/test_broken.py",
    "outcome": "failed",
    "longrepr": "ImportError while importing test module 'tests/test_broken.py'.\n"
                "E   ModuleNotFoundError: No module named 'numpy'",
    "result": [],
    "sections": [],
    "$report_type": "CollectReport",
}

# event name -> (message as the runtime sends it, the event decode must return)
SAMPLES: dict[str, tuple[dict[str, Any], protocol.Event]] = {
    "runtime_ready": (
        {"event": "runtime_ready",
         "environment": {"runtime": "node", "runtime_version": "Node v24.19.0",
                         "pyodide_version": "314.0.7", "jspi": "true"},
         "boot_seconds": 1.25, "install_seconds": 0.5},
        protocol.RuntimeReady(
            {"runtime": "node", "runtime_version": "Node v24.19.0",
             "pyodide_version": "314.0.7", "jspi": "true"}, 1.25, 0.5),
    ),
    "install_failed": (
        {"event": "install_failed",
         "messages": ["Wheel was built with Emscripten v3.1.58 but Pyodide was built with v4.0.9"]},
        protocol.InstallFailed(
            ["Wheel was built with Emscripten v3.1.58 but Pyodide was built with v4.0.9"]),
    ),
    "session_started": (
        {"event": "session_started", "pytest_version": "9.0.3", "python_version": "3.14.2",
         "platform": "emscripten", "rootdir": "/home/pyodide/project",
         "protocol_version": protocol.PROTOCOL_VERSION},
        protocol.SessionStarted("9.0.3", "3.14.2", "emscripten", protocol.PROTOCOL_VERSION),
    ),
    "collected": (
        {"event": "collected",
         "items": [{"nodeid": NODEID, "location": ["tests/test_basic.py", 11, "test_pack[1]"],
                    "keywords": ["node", "parametrize", "test_pack[1]"]},
                   {"nodeid": "tests/test_basic.py::test_doc", "location": ["tests/test_basic.py", None,
                                                                            "test_doc"]}],
         "deselected": ["tests/test_basic.py::test_slow"],
         "import_origins": {"msgpack": {"file": "/lib/python3.14/site-packages/msgpack/__init__.py",
                                        "in_wheel": True}}},
        protocol.Collected(
            [protocol.CollectedItem(NODEID, ("tests/test_basic.py", 11, "test_pack[1]"),
                                    ["node", "parametrize", "test_pack[1]"]),
             protocol.CollectedItem("tests/test_basic.py::test_doc",
                                    ("tests/test_basic.py", None, "test_doc"), [])],
            ["tests/test_basic.py::test_slow"],
            {"msgpack": {"file": "/lib/python3.14/site-packages/msgpack/__init__.py", "in_wheel": True}},
        ),
    ),
    "collect_report": (
        {"event": "collect_report", "report": COLLECT_REPORT},
        protocol.CollectReport(COLLECT_REPORT),
    ),
    "module_missing": (
        {"event": "module_missing", "module": "hypothesis",
         "importer": "/home/pyodide/project/tests/conftest.py", "nodeid": ""},
        protocol.ModuleMissing("hypothesis", "/home/pyodide/project/tests/conftest.py", ""),
    ),
    "test_started": (
        {"event": "test_started", "nodeid": NODEID,
         "location": ["tests/test_basic.py", 11, "test_pack[1]"], "timeout": 5},
        protocol.TestStarted(NODEID, 5.0),
    ),
    "test_report": (
        {"event": "test_report", "report": REPORT},
        protocol.TestReport(REPORT),
    ),
    "test_finished": (
        {"event": "test_finished", "nodeid": NODEID},
        protocol.TestFinished(NODEID),
    ),
    "warning": (
        {"event": "warning", "message": "unclosed file", "category": "ResourceWarning",
         "filename": "/home/pyodide/project/tests/test_basic.py", "lineno": 20, "when": "runtest",
         "nodeid": NODEID},
        protocol.Warning("unclosed file", "ResourceWarning", "/home/pyodide/project/tests/test_basic.py",
                         20, "runtest", NODEID),
    ),
    "session_finished": (
        {"event": "session_finished", "exitstatus": 1},
        protocol.SessionFinished(1),
    ),
    "coverage": (
        {"event": "coverage", "branch": True,
         "files": {"/lib/python3.14/site-packages/msgpack/ext.py": [[-1, 1], [1, 3]],
                   "/lib/python3.14/site-packages/msgpack/fallback.py": []},
         "final": True, "warnings": ["Module x was never imported. (module-not-imported)"]},
        protocol.CoverageMeasured(
            True, arcs={"/lib/python3.14/site-packages/msgpack/ext.py": [(-1, 1), (1, 3)],
                        "/lib/python3.14/site-packages/msgpack/fallback.py": []},
            final=True, warnings=["Module x was never imported. (module-not-imported)"]),
    ),
    "interrupted": (
        {"event": "interrupted", "nodeid": NODEID, "message": "KeyboardInterrupt",
         "path": "/home/pyodide/project/tests/test_basic.py", "lineno": 14},
        protocol.Interrupted(NODEID, "KeyboardInterrupt", "/home/pyodide/project/tests/test_basic.py",
                             14),
    ),
    "internal_error": (
        {"event": "internal_error", "text": "Traceback (most recent call last):\nSystemExit: 3\n"},
        protocol.InternalError("Traceback (most recent call last):\nSystemExit: 3\n"),
    ),
    "done": (
        {"event": "done", "exitstatus": 1, "seconds": 3.5},
        protocol.Done(1, 3.5),
    ),
    "runtime_error": (
        {"event": "runtime_error",
         "text": "Pyodide fatal error (exit status 1): RuntimeError: unreachable\n    at wasm-function"},
        protocol.RuntimeError_(
            "Pyodide fatal error (exit status 1): RuntimeError: unreachable\n    at wasm-function"),
    ),
}


# -- every event type ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_decode_each_event(kind: str) -> None:
    message, expected = SAMPLES[kind]
    event = decode(json.dumps(message))
    assert type(event) is type(expected)
    assert event == expected


def test_every_event_has_a_decoder() -> None:
    """Adding an event type to ``Event`` without a decode case (and a sample here) fails."""
    union = set(typing.get_args(protocol.Event))
    decoded = {type(decode(json.dumps(message))) for message, _ in SAMPLES.values()}
    assert union - HOST_ONLY == decoded, "event types without a decode case or without a sample"
    assert union >= HOST_ONLY


@pytest.mark.parametrize("host_only", sorted(t.__name__ for t in HOST_ONLY))
def test_host_only_events_are_not_accepted_from_a_runtime(host_only: str) -> None:
    """A runtime cannot forge ``Crashed``: the host decides when a runtime crashed."""
    with pytest.raises(ProtocolError, match=f"unknown event {host_only.lower()!r}"):
        decode(json.dumps({"event": host_only.lower(), "reason": "forged"}))


def test_test_started_without_a_timeout() -> None:
    for timeout in (None, 0):
        assert decode(json.dumps({"event": "test_started", "nodeid": NODEID, "timeout": timeout})) == (
            protocol.TestStarted(NODEID, None)
        )
    assert decode(json.dumps({"event": "test_started", "nodeid": NODEID})) == protocol.TestStarted(NODEID)


def test_collected_defaults_and_report_nodeid() -> None:
    event = decode(json.dumps({"event": "collected", "items": []}))
    assert event == protocol.Collected([], [], {})
    report = decode(json.dumps({"event": "test_report", "report": REPORT}))
    assert isinstance(report, protocol.TestReport)
    assert report.nodeid == NODEID


def test_numbers_are_coerced() -> None:
    """JS has one number type; the host gets the Python types the dataclasses declare."""
    done = decode('{"event": "done", "exitstatus": 0, "seconds": 2}')
    assert done == protocol.Done(0, 2.0)
    assert isinstance(done, protocol.Done)
    assert isinstance(done.seconds, float)
    ready = decode('{"event": "runtime_ready", "environment": {"jspi": true, "cores": 8}, '
                   '"boot_seconds": 1, "install_seconds": "0.25"}')
    assert ready == protocol.RuntimeReady({"jspi": "True", "cores": "8"}, 1.0, 0.25)


# -- malformed messages ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "message",
    ["", "node: warning: something", "{not json", "[1, 2]", "5", '"done"', "null", '{"exitstatus": 0}'],
    ids=["empty", "log-line", "broken-json", "array", "number", "string", "null", "no-event"],
)
def test_not_a_protocol_message(message: str) -> None:
    with pytest.raises(ProtocolError, match="not a protocol message") as info:
        decode(message)
    assert repr(message[:200]) in str(info.value)


def test_long_garbage_is_shortened_in_the_error() -> None:
    with pytest.raises(ProtocolError) as info:
        decode("x" * 10_000)
    assert len(str(info.value)) < 300


def test_unknown_event() -> None:
    with pytest.raises(ProtocolError, match="unknown event 'test_skipped'"):
        decode('{"event": "test_skipped", "nodeid": "t.py::t"}')


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_missing_field(kind: str) -> None:
    """Dropping any field a decoder needs is a ProtocolError naming the event."""
    message, _ = SAMPLES[kind]
    required = [key for key in message if key != "event" and _needed(kind, key)]
    assert required, f"{kind} has no required field?"
    for key in required:
        broken = {k: v for k, v in message.items() if k != key}
        with pytest.raises(ProtocolError, match=f"malformed '{kind}' event"):
            decode(json.dumps(broken))


def _needed(kind: str, key: str) -> bool:
    optional = {
        "session_started": {"rootdir", "protocol_version"},
        "collected": {"deselected", "import_origins"},
        "test_started": {"location", "timeout"},
        "coverage": {"final", "warnings"},
    }
    return key not in optional.get(kind, set())


@pytest.mark.parametrize(
    "message",
    [
        {"event": "done", "exitstatus": "zero", "seconds": 1},
        {"event": "done", "exitstatus": 0, "seconds": None},
        {"event": "session_finished", "exitstatus": [0]},
        {"event": "test_started", "nodeid": NODEID, "timeout": "soon"},
        {"event": "install_failed", "messages": 3},
        {"event": "warning", "message": "m", "category": "UserWarning", "filename": "f", "lineno": "x",
         "when": "runtest", "nodeid": NODEID},
        {"event": "collected", "items": 5},
        {"event": "collected", "items": [{"nodeid": NODEID}]},
        {"event": "collected", "items": [{"nodeid": NODEID, "location": ["a.py", 1]}]},
        {"event": "collected", "items": [{"nodeid": NODEID, "location": ["a.py", 1, "t"], "keywords": 1}]},
        {"event": "collected", "items": [], "import_origins": 7},
        {"event": "runtime_ready", "environment": {}, "boot_seconds": "fast", "install_seconds": 0},
        {"event": "coverage", "branch": True, "files": {"a.py": [[1]]}},
        {"event": "coverage", "branch": False, "files": [["a.py", [1]]]},
    ],
    ids=lambda m: m["event"],
)
def test_wrong_types_are_malformed(message: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError, match=f"malformed '{message['event']}' event"):
        decode(json.dumps(message))


def test_runtime_ready_environment_not_an_object() -> None:
    with pytest.raises(ProtocolError, match="malformed 'runtime_ready' event"):
        decode('{"event": "runtime_ready", "environment": ["node"], "boot_seconds": 1, '
               '"install_seconds": 1}')


def test_test_report_without_nodeid() -> None:
    with pytest.raises(ProtocolError, match="malformed 'test_report' event"):
        decode('{"event": "test_report", "report": {"outcome": "passed", "when": "call"}}')


# -- round trip of the real inner plugin ---------------------------------------------------------


def _inner_messages(inner: ModuleType, root: Path) -> list[str]:
    messages: list[str] = []
    options = inner.InnerOptions(runtime="node", rootdir=str(root), paths=("tests",),
                                 args=("-q", "--capture=sys"), package="pytest",
                                 top_level=("pytest",), timeout=0)
    # Serialized exactly like main() does before the bridge carries it to the host.
    inner.run(options, lambda e: messages.append(json.dumps(e, default=str, ensure_ascii=True)))
    return messages


def test_round_trip_of_the_inner_plugin(pytester: pytest.Pytester, inner: ModuleType) -> None:
    pytester.makepyfile(**{
        "tests/test_all": """
            import warnings
            import pytest

            def test_pass():
                pass

            def test_fail():
                assert 1 == 2

            @pytest.mark.timeout(2)
            def test_warn():
                warnings.warn("careful \\u2603", UserWarning)
        """,
        "tests/test_broken": "import not_a_module_anywhere\n",
    })
    messages = _inner_messages(inner, pytester.path)
    kinds = [json.loads(m)["event"] for m in messages]
    assert set(kinds) == {"session_started", "module_missing", "collected", "collect_report",
                          "session_finished", "done"}, (
        "a collection error stops the session before any test"
    )
    (missing,) = [decode(m) for m in messages if json.loads(m)["event"] == "module_missing"]
    assert isinstance(missing, protocol.ModuleMissing)
    assert missing.module == "not_a_module_anywhere"
    assert missing.importer.endswith("tests/test_broken.py")
    assert missing.nodeid == "tests/test_broken.py"
    pytester.path.joinpath("tests", "test_broken.py").unlink()
    messages += _inner_messages(inner, pytester.path)
    kinds = [json.loads(m)["event"] for m in messages]
    # interrupted: only when the suite interrupts its session (tests/test_interrupts.py);
    # coverage: only with --pyodide-cov (tests/test_covdata.py)
    expected = set(SAMPLES) - {"runtime_ready", "install_failed", "runtime_error", "internal_error",
                               "interrupted", "coverage"}
    assert set(kinds) == expected, "the inner plugin emits every event the JS side does not"

    for message in messages:
        data = json.loads(message)
        event = decode(message)
        assert type(event) is type(SAMPLES[data["event"]][1])
        match event:
            case protocol.CollectReport():
                assert event.report == data["report"]
            case protocol.TestReport():
                # Sent without location, keywords and empty fields; decoding puts the
                # defaults back, so pytest can rebuild the report.
                assert "keywords" not in data["report"] and "location" not in data["report"]
                assert event.report.items() >= data["report"].items()
                rebuilt = pytest.TestReport._from_json(event.report)
                assert (rebuilt.nodeid, rebuilt.when) == (data["report"]["nodeid"],
                                                          data["report"]["when"])
                assert rebuilt.failed == (rebuilt.when == "call"
                                          and rebuilt.nodeid.endswith("test_fail"))
            case protocol.TestStarted(nodeid=nodeid, timeout=timeout):
                assert nodeid == data["nodeid"]
                assert timeout == (2.0 if nodeid.endswith("test_warn") else None)
            case protocol.Warning():
                assert (event.message, event.category) == ("careful \u2603", "UserWarning")
                assert event.nodeid == "tests/test_all.py::test_warn"
            case protocol.Collected():
                assert [i.nodeid for i in event.items] in ([], [
                    "tests/test_all.py::test_pass", "tests/test_all.py::test_fail",
                    "tests/test_all.py::test_warn"])
                assert event.import_origins["pytest"]["in_wheel"] is True
            case protocol.Done(exitstatus=status) | protocol.SessionFinished(exitstatus=status):
                assert status in (1, 2)
            case _:
                pass


def test_round_trip_of_an_internal_error(pytester: pytest.Pytester, inner: ModuleType) -> None:
    pytester.makeconftest("raise SystemExit('conftest gave up')")
    pytester.makepyfile(**{"tests/test_x": "def test_x(): pass"})
    messages = _inner_messages(inner, pytester.path)
    events = [decode(m) for m in messages]
    assert [type(e) for e in events] == [protocol.InternalError, protocol.Done]
    error = events[0]
    assert isinstance(error, protocol.InternalError)
    assert "SystemExit: conftest gave up" in error.text
    assert events[1] == protocol.Done(3, events[1].seconds)  # type: ignore[union-attr]


def test_inner_file_stands_alone() -> None:
    """The inner plugin is shipped as a file: it imports only pytest and the standard library."""
    source = INNER_PATH.read_text(encoding="utf-8")
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from ")) and "__future__" not in line}
    assert imports - set(sys.stdlib_module_names) == {"pytest"}
