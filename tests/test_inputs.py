"""Inputs checked before anything boots: every problem is a usage error (exit 4) with its fix.

These runs stop at configure time, so they need no runtime and no network.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fixtureproject import build_suite

from pyodide_harness.inputs import BROWSER_NOT_FOUND
from pyodide_harness.runners.node import NODE_NOT_FOUND, NODE_TOO_OLD

SUITE = {"tests/test_a.py": "def test_a():\n    pass\n"}


@pytest.fixture
def wheel(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    project, wheel = build_suite(pytester.path, SUITE)
    monkeypatch.chdir(project)
    return wheel


def one_line(result: pytest.RunResult) -> str:
    return " ".join((result.stdout.str() + result.stderr.str()).split())


def test_a_node_that_does_not_exist_is_a_usage_error(pytester: pytest.Pytester, wheel: Path) -> None:
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={wheel}", "--pyodide-runtime=node",
                                           "--pyodide-node=/nonexistent/node")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert NODE_NOT_FOUND.split(":")[0].format(minimum=24) in one_line(result)
    assert "Traceback" not in one_line(result)


def test_a_node_too_old_is_a_usage_error(pytester: pytest.Pytester, wheel: Path, tmp_path: Path) -> None:
    old = tmp_path / "node20"
    old.write_text("#!/bin/sh\necho v20.20.2\n")
    old.chmod(old.stat().st_mode | stat.S_IEXEC)
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={wheel}", "--pyodide-runtime=node",
                                           f"--pyodide-node={old}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = NODE_TOO_OLD.format(path=old, version="v20.20.2", minimum=24)
    assert " ".join(expected.split()) in one_line(result)


def test_a_browser_path_that_cannot_run_is_a_usage_error(
    pytester: pytest.Pytester, wheel: Path, tmp_path: Path
) -> None:
    not_executable = tmp_path / "chromium"
    not_executable.write_text("")
    os.chmod(not_executable, 0o644)
    result = pytester.runpytest_subprocess(f"--pyodide-wheel={wheel}", "--pyodide-runtime=chromium",
                                           f"--pyodide-browser-path=chromium={not_executable}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = BROWSER_NOT_FOUND.format(name="chromium", path=not_executable, why="not executable")
    assert " ".join(expected.split()) in one_line(result)
