"""Host-side helpers of the session that need no runtime."""

from __future__ import annotations

from pyodide_harness.session import host_nodeid, split_runtime_args

RUNTIMES = ("chromium", "firefox", "node")


def test_host_nodeid_keeps_the_suite_id() -> None:
    assert host_nodeid("tests/test_a.py::test_b[1]", "node") == "tests/test_a.py::test_b[1]@node"


def test_plain_paths_go_to_every_runtime() -> None:
    got = split_runtime_args(["tests", "tests/test_a.py::test_b"], RUNTIMES)
    assert got == {name: ["tests", "tests/test_a.py::test_b"] for name in RUNTIMES}


def test_copied_ids_go_to_their_runtime_only() -> None:
    got = split_runtime_args(["tests/test_a.py::test_b@node", "tests/test_a.py::test_c[x@y]@firefox"],
                             RUNTIMES)
    assert got == {"node": ["tests/test_a.py::test_b"], "firefox": ["tests/test_a.py::test_c[x@y]"],
                   "chromium": None}


def test_an_at_sign_that_names_no_runtime_is_part_of_the_id() -> None:
    got = split_runtime_args(["tests/test_a.py::test_b[user@host]"], RUNTIMES)
    assert got["node"] == ["tests/test_a.py::test_b[user@host]"]
