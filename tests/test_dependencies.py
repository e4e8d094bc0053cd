"""The old entry points in pyodide_harness.dependencies still work (callers move to
requirements.py and resolver.py; their own tests are test_requirements.py and
test_resolver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from localindex import PYODIDE_TAG, use_local_index
from wheelfactory import make_wheel

from pyodide_harness import dependencies as deps
from pyodide_harness import requirements, resolver


def test_facade_names_are_the_new_modules() -> None:
    assert deps.resolve is resolver.resolve
    assert deps.Resolution is resolver.Resolution
    assert deps.MISSING_WHEEL_FIX is resolver.MISSING_WHEEL_FIX
    assert deps.dependency_group is requirements.dependency_group
    assert deps.test_requirements_from_project is requirements.test_requirements_from_project
    assert deps.TEST_GROUP_NAMES == ("test", "tests", "testing")


def test_read_requirements_file_returns_the_requirements(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("attrs\n")
    (tmp_path / "req.txt").write_text("-r base.txt\n-e .\n--index-url https://x\nhypothesis\n")
    assert deps.read_requirements_file(tmp_path / "req.txt") == ["attrs", "hypothesis"]


def test_resolve_as_callers_call_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = use_local_index(tmp_path / "index", monkeypatch)
    make_wheel(index, "depa")
    wheel = make_wheel(tmp_path / "dist", "mypkg", tag=PYODIDE_TAG, requires_dist=["depa"])
    messages: list[str] = []
    resolution = deps.resolve([(wheel, ())], ["depa"], cache=tmp_path / "cache", log=messages.append)
    assert [p.name for p in resolution.wheels] == ["depa-1.0-py3-none-any.whl"]
    assert resolution.requirements == ("depa",)
    assert messages
