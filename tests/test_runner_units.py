"""Runner pieces that need no runtime: the output tail, the remembered Node probe."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyodide_harness.runners import node
from pyodide_harness.runners.base import OutputTail


def test_output_tail_joins_pieces_into_lines_and_keeps_the_last() -> None:
    tail = OutputTail(lines=3)
    for piece in ("tests/test_a.py ", ".", ".", "F", "\n", "one\ntwo\nthree\npar"):
        tail.write(piece)
    assert tail.text() == "one\ntwo\nthree\npar"
    tail.line("page error: boom")  # a line of its own, even after a partial one
    assert tail.text() == "three\npar\npage error: boom"
    tail.write("tial")
    assert tail.text() == "three\npar\npage error: boom\ntial"


@pytest.fixture
def fake_node(tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, list[list[str]]]]:
    """A `node` on PATH that answers like Node 24 (JSPI behind the flag); every call logged."""
    monkeypatch.setenv("PYODIDE_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(node, "_wheel_node", lambda: None)
    binary = tmp_path / "bin" / "node"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("PATH", str(binary.parent))
    calls: list[list[str]] = []

    def run(argv: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        if argv[1:] == ["--version"]:
            return subprocess.CompletedProcess(argv, 0, "v24.19.0\n", "")
        jspi = "--experimental-wasm-stack-switching" in argv
        return subprocess.CompletedProcess(argv, 0, "function" if jspi else "undefined", "")

    monkeypatch.setattr(subprocess, "run", run)  # the module node.py runs Node through
    node.find_node.cache_clear()
    node._jspi_flags.cache_clear()
    yield binary, calls
    node.find_node.cache_clear()
    node._jspi_flags.cache_clear()


def test_node_probe_is_remembered_until_the_binary_changes(
    fake_node: tuple[Path, list[list[str]]]
) -> None:
    binary, calls = fake_node
    first = node.find_node()
    assert (first.path, first.version, first.flags) == (
        binary, "v24.19.0", ("--experimental-wasm-stack-switching",))
    assert calls, "the first run asks the binary"

    calls.clear()
    node.find_node.cache_clear()
    node._jspi_flags.cache_clear()
    assert node.find_node() == first
    assert calls == [], "a later run (a new process) does not spawn Node to ask again"

    binary.write_text("#!/bin/sh\n# another build\n")  # new size and mtime
    node.find_node.cache_clear()
    node._jspi_flags.cache_clear()
    assert node.find_node() == first
    assert calls, "a changed binary is asked again"
