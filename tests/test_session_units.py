"""Host-side helpers of the session that need no runtime: node ids with the runtime."""

from __future__ import annotations

import pytest

from pyodide_harness.items import host_nodeid, split_host_nodeid, split_runtime_args

RUNTIMES = ("chromium", "firefox", "node")


@pytest.mark.parametrize(("suite", "host"), [
    ("tests/test_a.py::test_b", "tests/test_a.py::test_b[node]"),
    ("tests/test_a.py::test_b[1]", "tests/test_a.py::test_b[1-node]"),
    ("tests/test_a.py::TestC::test_m[a[b]]", "tests/test_a.py::TestC::test_m[a[b]-node]"),
    ("tests/test_a.py::test_x[foo-node]", "tests/test_a.py::test_x[foo-node-node]"),
    ("tests/test_a.py::test_x[]", "tests/test_a.py::test_x[-node]"),
    ("tests/t[1].py::test_y", "tests/t[1].py::test_y[node]"),
])
def test_the_runtime_is_the_last_parameter_and_comes_back_off(suite: str, host: str) -> None:
    assert host_nodeid(suite, "node") == host
    assert split_host_nodeid(host, RUNTIMES) == (suite, "node")


@pytest.mark.parametrize("nodeid", ["tests/test_a.py::test_b", "tests/test_a.py::test_b[1]",
                                    "tests/test_a.py::test_b[1-deno]", "tests/test_a.py"])
def test_ids_without_a_known_runtime_name_none(nodeid: str) -> None:
    assert split_host_nodeid(nodeid, RUNTIMES) is None


def test_plain_paths_go_to_every_runtime() -> None:
    got = split_runtime_args(["tests", "tests/test_a.py::test_b"], RUNTIMES)
    assert got == {name: ["tests", "tests/test_a.py::test_b"] for name in RUNTIMES}


def test_copied_ids_go_to_their_runtime_only() -> None:
    got = split_runtime_args(["tests/test_a.py::test_b[node]", "tests/test_a.py::test_c[x@y-firefox]"],
                             RUNTIMES)
    assert got == {"node": ["tests/test_a.py::test_b"], "firefox": ["tests/test_a.py::test_c[x@y]"],
                   "chromium": None}


def test_a_parameter_that_names_no_runtime_is_part_of_the_id() -> None:
    got = split_runtime_args(["tests/test_a.py::test_b[user-host]"], RUNTIMES)
    assert got["node"] == ["tests/test_a.py::test_b[user-host]"]
